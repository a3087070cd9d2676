//! The user this process acts as, and what the kernel lets it do with a path: names
//! of users and groups, `faccessat` with the effective ids, read-only file systems.

use std::ffi::{CStr, CString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::store::schema::escape;

/// The user this process acts as.
pub(super) struct Me {
    pub(super) uid: u32,
    pub(super) gid: u32,
    groups: Vec<u32>,
}

impl Me {
    pub(super) fn current() -> Me {
        // SAFETY: geteuid, getegid have no preconditions; getgroups writes at most
        // `n` ids into a buffer of `n`.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let mut groups = Vec::new();
        let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
        if n > 0 {
            groups.resize(n as usize, 0);
            let got = unsafe { libc::getgroups(n, groups.as_mut_ptr()) };
            groups.truncate(got.max(0) as usize);
        }
        Me { uid, gid, groups }
    }

    pub(super) fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }

    pub(super) fn name(&self) -> String {
        user_name(self.uid)
    }
}

/// The name of `uid`, escaped, or its number.
pub(super) fn user_name(uid: u32) -> String {
    lookup(|buf, out| {
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; buf.len() is its size.
        let rc =
            unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
        if rc == 0 && !result.is_null() && !pwd.pw_name.is_null() {
            // SAFETY: pw_name points into buf, NUL-terminated by getpwuid_r.
            *out = Some(
                unsafe { CStr::from_ptr(pwd.pw_name) }
                    .to_string_lossy()
                    .into(),
            );
        }
        rc
    })
    .unwrap_or_else(|| uid.to_string())
}

/// The name of `gid`, escaped, or its number.
pub(super) fn group_name(gid: u32) -> String {
    lookup(|buf, out| {
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut result = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; buf.len() is its size.
        let rc =
            unsafe { libc::getgrgid_r(gid, &mut grp, buf.as_mut_ptr(), buf.len(), &mut result) };
        if rc == 0 && !result.is_null() && !grp.gr_name.is_null() {
            // SAFETY: gr_name points into buf, NUL-terminated by getgrgid_r.
            *out = Some(
                unsafe { CStr::from_ptr(grp.gr_name) }
                    .to_string_lossy()
                    .into(),
            );
        }
        rc
    })
    .unwrap_or_else(|| gid.to_string())
}

/// Runs a `get*_r` call with a buffer that grows while it is too small.
fn lookup(
    mut call: impl FnMut(&mut [libc::c_char], &mut Option<String>) -> libc::c_int,
) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 1024];
    loop {
        let mut out = None;
        let rc = call(&mut buf, &mut out);
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        return out.map(|s| escape(&s));
    }
}

/// `faccessat` with the effective ids (the ones the kernel checks on open).
pub(super) fn access(path: &Path, mode: libc::c_int) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: a valid NUL-terminated path; no memory is written.
    if unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), mode, libc::AT_EACCESS) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn read_only_fs(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid NUL-terminated path and a statvfs to fill.
    unsafe { libc::statvfs(c.as_ptr(), &mut st) == 0 && st.f_flag & libc::ST_RDONLY != 0 }
}

pub(super) fn may_create_in(dir: &Path) -> bool {
    access(dir, libc::W_OK | libc::X_OK).is_ok()
}

/// Whether no one (root aside) can create a file in `dir`.
pub(super) fn nobody_creates_in(dir: &Path) -> bool {
    if read_only_fs(dir) {
        return true;
    }
    std::fs::metadata(dir).is_ok_and(|m| m.mode() & 0o222 == 0) && !may_create_in(dir)
}
