//! Hosts for the vpnrecon module.
