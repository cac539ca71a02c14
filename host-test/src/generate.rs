//! A deterministic generator of realistic CloudTrail management events for the
//! benchmark: many services, actions and identities, about 1.2 KB per event, and a
//! chosen share of discovery calls from addresses of listed VPN ASNs (taken from the
//! baked ASN table, so they resolve as real traffic would).

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

/// Rule A's discovery calls, as (event source, event name).
const DISCOVERY: &[(&str, &str)] = &[
    ("sts.amazonaws.com", "GetCallerIdentity"),
    ("iam.amazonaws.com", "ListUsers"),
    ("iam.amazonaws.com", "ListRoles"),
    ("iam.amazonaws.com", "ListAccessKeys"),
    ("iam.amazonaws.com", "GetAccountSummary"),
    ("s3.amazonaws.com", "ListBuckets"),
    ("ec2.amazonaws.com", "DescribeInstances"),
    ("ec2.amazonaws.com", "DescribeRegions"),
    ("ec2.amazonaws.com", "DescribeVpcs"),
    ("ec2.amazonaws.com", "DescribeSecurityGroups"),
    ("lambda.amazonaws.com", "ListFunctions20150331"),
    ("rds.amazonaws.com", "DescribeDBInstances"),
    ("dynamodb.amazonaws.com", "ListTables"),
    ("kms.amazonaws.com", "ListKeys"),
    ("cloudtrail.amazonaws.com", "DescribeTrails"),
    ("bedrock.amazonaws.com", "ListFoundationModels"),
];

/// Everyday traffic: (event source, event name, relative weight).
const ROUTINE: &[(&str, &str, u32)] = &[
    ("s3.amazonaws.com", "GetObject", 30),
    ("s3.amazonaws.com", "PutObject", 20),
    ("kms.amazonaws.com", "Decrypt", 25),
    ("kms.amazonaws.com", "GenerateDataKey", 10),
    ("sts.amazonaws.com", "AssumeRole", 20),
    ("logs.amazonaws.com", "CreateLogStream", 8),
    ("logs.amazonaws.com", "DescribeLogGroups", 4),
    ("dynamodb.amazonaws.com", "GetItem", 12),
    ("dynamodb.amazonaws.com", "PutItem", 8),
    ("secretsmanager.amazonaws.com", "GetSecretValue", 10),
    ("ssm.amazonaws.com", "GetParameter", 10),
    ("ec2.amazonaws.com", "DescribeInstances", 8),
    ("ec2.amazonaws.com", "DescribeVolumes", 4),
    ("ec2.amazonaws.com", "CreateTags", 2),
    ("lambda.amazonaws.com", "Invoke", 5),
    ("ecr.amazonaws.com", "GetAuthorizationToken", 6),
    ("monitoring.amazonaws.com", "PutMetricData", 6),
    ("iam.amazonaws.com", "GetRole", 4),
    ("sts.amazonaws.com", "GetCallerIdentity", 4),
    ("sqs.amazonaws.com", "SendMessage", 5),
    ("sns.amazonaws.com", "Publish", 3),
    (
        "elasticloadbalancing.amazonaws.com",
        "DescribeTargetHealth",
        3,
    ),
    ("autoscaling.amazonaws.com", "DescribeAutoScalingGroups", 2),
    ("cloudformation.amazonaws.com", "DescribeStacks", 2),
];

const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
];

const AGENTS: &[&str] = &[
    "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off md/command#s3.cp",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
    "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/s3#1.53.1",
    "aws-sdk-java/2.25.16 Linux/5.10.213 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
    "console.amazonaws.com",
];

/// Addresses of corporate egress and cloud workloads (documentation and private
/// ranges: they resolve to no listed ASN).
const ORDINARY_SOURCES: &[&str] = &[
    "198.51.100.23",
    "203.0.113.77",
    "192.0.2.140",
    "10.20.4.17",
    "172.31.44.9",
];

/// One generated event.
#[derive(Clone, Debug)]
pub struct GeneratedEvent {
    pub json: String,
    /// A discovery call from a listed VPN ASN by an ordinary identity (rule A's input).
    pub candidate: bool,
}

/// splitmix64: small, fast and deterministic; quality is ample for test data.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            let _ = write!(s, "{:016x}", self.next_u64());
        }
        s.truncate(len);
        s
    }

    fn upper(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        (0..len)
            .map(|_| ALPHABET[self.below(ALPHABET.len())] as char)
            .collect()
    }
}

/// Up to `per_asn` IPv4 addresses from each enabled ASN of the curated VPN list, found
/// by sweeping the baked table in /20 steps (the table offers lookups, not listings).
pub fn vpn_addresses(per_asn: usize) -> Vec<(u32, Ipv4Addr)> {
    let Some(table) = asn_data::baked() else {
        return Vec::new();
    };
    let wanted: Vec<u32> = asn_data::curated::list()
        .into_iter()
        .filter(|c| c.enabled)
        .map(|c| c.asn)
        .collect();
    let mut found: Vec<(u32, Ipv4Addr)> = Vec::new();
    let mut counts = vec![0usize; wanted.len()];
    let mut block: u32 = 1 << 24;
    while block < 0xE000_0000 {
        let ip = Ipv4Addr::from(block + 37);
        if let Some(asn) = table.lookup(IpAddr::V4(ip)) {
            if let Some(slot) = wanted.iter().position(|&n| n == asn.number) {
                if counts[slot] < per_asn {
                    counts[slot] += 1;
                    found.push((asn.number, ip));
                }
            }
        }
        block += 1 << 12;
    }
    found
}

/// Generates events with `candidate_share` (0..1) of VPN discovery candidates.
pub struct Generator {
    rng: Rng,
    vpn_sources: Vec<String>,
    candidate_per_mille: u64,
    routine_weight: u32,
    time: u64,
}

impl Generator {
    pub fn new(seed: u64, candidate_share: f64, vpn: &[(u32, Ipv4Addr)]) -> Generator {
        Generator {
            rng: Rng::new(seed),
            vpn_sources: vpn.iter().map(|(_, ip)| ip.to_string()).collect(),
            candidate_per_mille: (candidate_share * 1000.0).round() as u64,
            routine_weight: ROUTINE.iter().map(|r| r.2).sum(),
            // 2026-03-02T00:00:00Z, advancing a few hundred milliseconds per event.
            time: 1_772_409_600_000,
        }
    }

    pub fn has_vpn_sources(&self) -> bool {
        !self.vpn_sources.is_empty()
    }

    pub fn event(&mut self) -> GeneratedEvent {
        self.time += 50 + self.rng.below(400) as u64;
        let candidate =
            !self.vpn_sources.is_empty() && self.rng.next_u64() % 1000 < self.candidate_per_mille;
        let (source, name) = if candidate {
            *self.rng.pick(DISCOVERY)
        } else {
            let mut roll = self.rng.below(self.routine_weight as usize) as u32;
            let mut chosen = (ROUTINE[0].0, ROUTINE[0].1);
            for (s, n, w) in ROUTINE {
                if roll < *w {
                    chosen = (s, n);
                    break;
                }
                roll -= w;
            }
            chosen
        };
        let ip = if candidate {
            self.rng.pick(&self.vpn_sources).clone()
        } else if self.rng.below(4) == 0 {
            "AWS Internal".to_string()
        } else {
            (*self.rng.pick(ORDINARY_SOURCES)).to_string()
        };
        GeneratedEvent {
            json: self.render(source, name, &ip),
            candidate,
        }
    }

    fn render(&mut self, source: &str, name: &str, ip: &str) -> String {
        let rng = &mut self.rng;
        let account = format!(
            "{:012}",
            100_000_000_000u64 + rng.below(5) as u64 * 111_111_111
        );
        let user_no = rng.below(200);
        let assumed = rng.below(3) != 0;
        let access_key = format!("ASIA{}", rng.upper(16));
        let principal = format!("AROA{}", rng.upper(17));
        let identity = if assumed {
            let role = format!("team-{}-developer", user_no % 20);
            format!(
                r#"{{"type":"AssumedRole","principalId":"{principal}:user{user_no}@example.com","arn":"arn:aws:sts::{account}:assumed-role/{role}/user{user_no}@example.com","accountId":"{account}","accessKeyId":"{access_key}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"{principal}","arn":"arn:aws:iam::{account}:role/{role}","accountId":"{account}","userName":"{role}"}},"attributes":{{"creationDate":"{}","mfaAuthenticated":"false"}}}}}}"#,
                iso8601(self.time - 600_000)
            )
        } else {
            format!(
                r#"{{"type":"IAMUser","principalId":"AIDA{}","arn":"arn:aws:iam::{account}:user/svc-user-{user_no}","accountId":"{account}","accessKeyId":"AKIA{}","userName":"svc-user-{user_no}"}}"#,
                rng.upper(17),
                rng.upper(16)
            )
        };
        let region = *rng.pick(REGIONS);
        let agent = *rng.pick(AGENTS);
        let request_id = format!(
            "{}-{}-{}-{}-{}",
            rng.hex(8),
            rng.hex(4),
            rng.hex(4),
            rng.hex(4),
            rng.hex(12)
        );
        let event_id = format!(
            "{}-{}-{}-{}-{}",
            rng.hex(8),
            rng.hex(4),
            rng.hex(4),
            rng.hex(4),
            rng.hex(12)
        );
        let params = format!(
            r#"{{"bucketName":"data-{}-{region}","key":"exports/{}/part-{:05}.parquet","maxResults":100,"filterSet":{{"items":[{{"name":"tag:team","valueSet":{{"items":[{{"value":"t{}"}}]}}}}]}}}}"#,
            rng.hex(6),
            rng.hex(10),
            rng.below(10000),
            user_no % 20
        );
        let read_only =
            name.starts_with("Get") || name.starts_with("List") || name.starts_with("Describe");
        format!(
            r#"{{"eventVersion":"1.09","userIdentity":{identity},"eventTime":"{}","eventSource":"{source}","eventName":"{name}","awsRegion":"{region}","sourceIPAddress":"{ip}","userAgent":"{agent}","requestParameters":{params},"responseElements":null,"requestID":"{request_id}","eventID":"{event_id}","readOnly":{read_only},"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{account}","eventCategory":"Management","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"{}.{region}.amazonaws.com"}}}}"#,
            iso8601(self.time),
            source.trim_end_matches(".amazonaws.com")
        )
    }
}

/// Milliseconds since the epoch as CloudTrail's `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso8601(millis: u64) -> String {
    vpnrecon_time::format_time(i64::try_from(millis / 1000).unwrap_or(i64::MAX))
}
