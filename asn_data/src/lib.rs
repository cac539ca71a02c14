//! IP → autonomous system lookup for vpnrecon (placeholder while the table format lands).
