//! vpnrecon detection module.
