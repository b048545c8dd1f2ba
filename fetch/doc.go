// Package fetch is the only way the Shelf server reads a URL (DESIGN §5).
// Every outbound request made for a client (an attachment to import, a
// source to ingest) goes through a Fetcher, so the rules against
// server-side request forgery (SSRF) live in one place and are re-applied
// on every fetch and every retry of a stored URL.
//
// Before any I/O, Get and Check refuse:
//   - schemes other than http and https (file:, gopher:, ftp:, data:,
//     javascript:, …), URLs with credentials (user:pass@), URLs without a
//     host, and port 0;
//   - hosts that are neither a plain ASCII DNS name nor a canonical IP
//     address. The legacy IPv4 spellings that C resolvers and browsers
//     accept (decimal 2130706433, octal 0177.0.0.1, hex 0x7f.0.0.1, short
//     127.1, a trailing dot) are decoded the way those resolvers decode
//     them and then refused: as a blocked address if they point at one,
//     else as malformed. Non-ASCII names must be written in punycode
//     (xn--…), so no Unicode mapping can turn a name into an address.
//
// At dial time, after DNS and on the address actually connected to, a
// Fetcher refuses every address that is not public unicast: loopback,
// private (RFC 1918), link-local, unique-local, CGNAT (100.64/10),
// this-network (0/8), IETF, documentation and benchmarking ranges,
// multicast and reserved space, NAT64 (64:ff9b::/96, 64:ff9b:1::/48),
// 6to4 and Teredo, IPv4-compatible IPv6, and the cloud metadata endpoints
// (169.254.169.254, fd00:ec2::254, 100.100.100.200, 168.63.129.16, …).
// IPv4-mapped IPv6 addresses are judged, and dialled, as the IPv4 address
// they carry. The Fetcher resolves the name itself, drops the refused
// addresses and dials only the permitted ones by IP, and the dialer's
// Control hook checks the socket's address once more just before
// connect(2). No second lookup happens between the check and the
// connection, so DNS rebinding cannot slip a private address past it.
//
// Any port is allowed: what protects internal services is the address
// check, and public file servers do run on ports other than 80 and 443.
//
// Every redirect is re-checked the same way, at most Config.MaxRedirects
// of them (5 by default). A refused address is a shelf EFORBIDDEN error
// that wraps ErrBlocked; a malformed URL is EINVALID; a body larger than
// Config.MaxBytes is ETOOLARGE and is never silently truncated.
//
// Config.Allow (SHELF_FETCH_ALLOW, read by cmd and parsed by ParseAllow)
// opens exceptions: an address inside an allowed CIDR, or any address of
// an allowed host name (metadata addresses included: the name is trusted,
// not checked), may be dialled. It exists for tests and for deliberately
// trusted internal sources. Even then, legacy IPv4 spellings stay refused.
//
// What it must not do: use a proxy (through a proxy the dial check would
// only see the proxy's address), read the environment, keep cookies or
// send credentials, decompress (it asks for identity encoding and returns
// the bytes as sent), hold a body in memory, or put upstream bodies or
// internal addresses into client-facing error messages.
package fetch
