//! Bringing up the loopback interface of the sandbox's own network
//! namespace, which starts down: tests that serve on `127.0.0.1` (Go's
//! `httptest`, a Python test server) need it, and it reaches nothing
//! outside the namespace.
//!
//! One `RTM_NEWLINK` request over a route netlink socket sets `IFF_UP` on
//! interface 1 (the loopback interface is always index 1 in a new
//! namespace), and the kernel's acknowledgement is checked. The message is
//! built by hand: it is 32 bytes, and no safe wrapper for it exists in the
//! crates handoff uses.

use std::os::fd::AsRawFd as _;

use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, recv, send, socket,
};

const RTM_NEWLINK: u16 = 16;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLMSG_ERROR: u16 = 2;
const IFF_UP: u32 = 1;
const LOOPBACK_INDEX: i32 = 1;

/// Sets the loopback interface up; needs `CAP_NET_ADMIN` in the user
/// namespace that owns this network namespace.
pub(super) fn up() -> Result<(), String> {
    let fail = |e: nix::Error| format!("cannot bring up the loopback interface: {e}");
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )
    .map_err(fail)?;
    let mut message = Vec::with_capacity(32);
    // nlmsghdr: length, type, flags, sequence, port id.
    message.extend_from_slice(&32_u32.to_ne_bytes());
    message.extend_from_slice(&RTM_NEWLINK.to_ne_bytes());
    message.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    message.extend_from_slice(&1_u32.to_ne_bytes());
    message.extend_from_slice(&0_u32.to_ne_bytes());
    // ifinfomsg: family (unspecified), padding, device type, index, flags,
    // the flags to change.
    message.extend_from_slice(&[0, 0]);
    message.extend_from_slice(&0_u16.to_ne_bytes());
    message.extend_from_slice(&LOOPBACK_INDEX.to_ne_bytes());
    message.extend_from_slice(&IFF_UP.to_ne_bytes());
    message.extend_from_slice(&IFF_UP.to_ne_bytes());
    send(fd.as_raw_fd(), &message, MsgFlags::empty()).map_err(fail)?;
    let mut reply = [0_u8; 1024];
    let n = recv(fd.as_raw_fd(), &mut reply, MsgFlags::empty()).map_err(fail)?;
    let field = |at: usize| reply.get(at..at + 4).filter(|_| at + 4 <= n);
    let kind = reply.get(4..6).map(|b| u16::from_ne_bytes([b[0], b[1]]));
    let error = field(16).map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    match (kind, error) {
        (Some(NLMSG_ERROR), Some(0)) => Ok(()),
        (Some(NLMSG_ERROR), Some(code)) => Err(fail(nix::Error::from_raw(-code))),
        _ => Err("cannot bring up the loopback interface: an unexpected reply".into()),
    }
}
