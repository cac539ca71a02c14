//! `*` / `?` patterns for principal allowlists and workload role names.

/// A compiled `*` / `?` pattern. `*` matches any run of characters (also none), `?`
/// exactly one character; everything else matches itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob {
    source: String,
    pattern: Vec<u8>,
    case_insensitive: bool,
    /// For `*literal*` (no other wildcard): the literal. Such a pattern matches
    /// exactly the texts that contain it, which a substring search answers for a
    /// fraction of the matcher's cost (the default workload-role patterns are of this
    /// form, and every assumed-role candidate is tested against them).
    infix: Option<Vec<u8>>,
}

impl Glob {
    pub fn new(pattern: &str, case_insensitive: bool) -> Glob {
        let bytes = if case_insensitive {
            pattern.to_ascii_lowercase().into_bytes()
        } else {
            pattern.as_bytes().to_vec()
        };
        let infix = bytes
            .strip_prefix(b"*")
            .and_then(|rest| rest.strip_suffix(b"*"))
            .filter(|literal| {
                !literal.is_empty() && !literal.iter().any(|b| matches!(b, b'*' | b'?'))
            })
            .map(<[u8]>::to_vec);
        Glob {
            source: pattern.to_owned(),
            pattern: bytes,
            case_insensitive,
            infix,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn matches(&self, text: &str) -> bool {
        // A literal of valid UTF-8 found in valid UTF-8 starts on a character
        // boundary, where the matcher's `*` would have stopped.
        match &self.infix {
            Some(literal) if self.case_insensitive => {
                crate::scan::find_ascii_lowercase(text.as_bytes(), literal).is_some()
            }
            Some(literal) => crate::scan::find(text.as_bytes(), literal).is_some(),
            None => self.matches_counting(text, &mut 0),
        }
    }

    /// The matcher, counting loop steps (tests use this to show the cost stays near
    /// linear). Iterative two-pointer matching: on a mismatch only the most recent
    /// `*` is retried one character further, which is enough because an earlier `*`
    /// can never need to absorb more once a later literal run has matched.
    pub fn matches_counting(&self, text: &str, steps: &mut u64) -> bool {
        let p = &self.pattern;
        let t = text.as_bytes();
        let (mut pi, mut ti) = (0usize, 0usize);
        // (pattern index after the star, text index the star's match ends at)
        let mut star: Option<(usize, usize)> = None;
        while let Some(&tc) = t.get(ti) {
            *steps += 1;
            match p.get(pi) {
                Some(b'*') => {
                    pi += 1;
                    star = Some((pi, ti));
                    continue;
                }
                Some(b'?') => {
                    pi += 1;
                    ti += utf8_len(tc);
                    continue;
                }
                Some(&pc) if pc == self.fold(tc) => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
            let Some((after_star, star_end)) = star else {
                return false;
            };
            let Some(&skipped) = t.get(star_end) else {
                return false;
            };
            let next = star_end + utf8_len(skipped);
            star = Some((after_star, next));
            pi = after_star;
            ti = next;
        }
        while p.get(pi) == Some(&b'*') {
            pi += 1;
        }
        pi == p.len()
    }

    fn fold(&self, b: u8) -> u8 {
        if self.case_insensitive {
            b.to_ascii_lowercase()
        } else {
            b
        }
    }
}

/// Bytes in the UTF-8 character starting with `lead` (1 for a stray continuation
/// byte, which cannot start a character of a valid `&str` anyway).
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let g = |p: &str, t: &str| Glob::new(p, false).matches(t);
        assert!(g("*", ""));
        assert!(g("*", "anything"));
        assert!(g("", ""));
        assert!(!g("", "x"));
        assert!(g("a?c", "abc"));
        assert!(!g("a?c", "ac"));
        assert!(g("a?c", "aéc"), "? is one character, not one byte");
        assert!(!g("a??c", "aéc"));
        assert!(g("*lambda*", "my-lambda-role"));
        assert!(!g("*lambda*", "my-Lambda-role"));
        assert!(Glob::new("*lambda*", true).matches("My-LAMBDA-role"));
        assert!(g("eks-*", "eks-nodegroup"));
        assert!(!g("eks-*", "my-eks-x"));
        assert!(g("a*b*c", "aXbYc"));
        assert!(g("a*b*c", "abbbcbc"));
        assert!(!g("a*b*c", "acb"));
        assert!(g("**a**", "xax"));
        assert!(g("*?", "x"));
        assert!(!g("*?", ""));
        assert!(g(
            "arn:aws:iam::*:role/scanner-?",
            "arn:aws:iam::111122223333:role/scanner-1"
        ));
    }

    /// `*literal*` patterns are answered by a substring search: the same answers as
    /// the matcher, in both cases of case.
    #[test]
    fn infix_patterns_match_as_the_matcher() {
        let patterns = [
            "*lambda*",
            "*ecsTask*",
            "*-task-role*",
            "*a*",
            "*é*",
            "*Ab*",
            "**",
            "*a?*",
            "*a*b*",
        ];
        let texts = [
            "",
            "lambda",
            "my-LAMBDA-role",
            "lambd",
            "xlambdax",
            "ecstask",
            "MyEcsTaskRole",
            "app-task-role",
            "app-TASK-ROLE-x",
            "aé",
            "É",
            "café",
            "ab",
            "AB",
            "xAbx",
            "a-b",
        ];
        for pattern in patterns {
            for case_insensitive in [false, true] {
                let glob = Glob::new(pattern, case_insensitive);
                for text in texts {
                    assert_eq!(
                        glob.matches(text),
                        glob.matches_counting(text, &mut 0),
                        "{pattern} {case_insensitive} {text:?}"
                    );
                }
            }
        }
        assert!(Glob::new("*lambda*", true).infix.is_some());
        assert!(Glob::new("*a?*", true).infix.is_none());
        assert!(Glob::new("eks-*", true).infix.is_none());
    }

    #[test]
    fn pathological_globs_stay_near_linear() {
        // Each text position is revisited at most once per literal character of the
        // longest run after a star: steps ≤ (n + 1) · (run + 1) + pattern length.
        let n = 20_000;
        let text = "a".repeat(n);
        for (pattern, run) in [
            ("*a*a*a*a*b", 1),
            ("*aaaa*b", 4),
            ("*a*a*a*a*a*a*a*a*a*ab", 2),
        ] {
            let mut steps = 0;
            assert!(!Glob::new(pattern, false).matches_counting(&text, &mut steps));
            let bound = (n as u64 + 1) * (run + 1) + pattern.len() as u64;
            assert!(steps <= bound, "{pattern}: {steps} steps > {bound}");
        }
    }
}
