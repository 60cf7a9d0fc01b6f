//! What a sandboxed command may reach.
//!
//! [`Reach`] is what skills.toml says for a pipeline or a role
//! (`sandbox = { network = false, read = [...], write = [...] }`): extra
//! folders on top of the defaults, with `~` for the home folder. [`Plan`]
//! is one run's concrete list: the workspace, the private temp folder, the
//! default system and toolchain folders and the extras, all absolute; the
//! helper skips the ones that do not exist.
//!
//! The defaults fit building and testing Go, Rust, Node and Python
//! projects offline: system folders, and the toolchains and module caches
//! under home (rustup, cargo's registry, Go's module cache, npm's cache,
//! pip's cache, pyenv, nvm) read-only. The rest of home (`~/.ssh`,
//! `~/.config`, other repositories, `~/.cargo/credentials.toml`) is not
//! readable. Caches a build writes go to a folder the session's commands
//! share (`GOCACHE`, `npm_config_cache`, `PIP_CACHE_DIR`, `XDG_CACHE_HOME`
//! are pointed there; the engine removes it when the session ends), not to
//! your own caches, so nothing can be planted in them for a later build
//! outside the sandbox.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Folders readable by default, besides the workspace and the temp folder.
const SYSTEM_READ: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/opt",
    "/nix/store",
    "/snap",
    "/sys/fs/cgroup",
    "/sys/devices/system/cpu",
    "/proc",
];

/// Toolchains and module caches under home, readable by default.
const HOME_READ: &[&str] = &[
    ".rustup",
    ".cargo/bin",
    ".cargo/registry",
    ".cargo/git",
    ".cargo/config.toml",
    ".cargo/config",
    "go/pkg/mod",
    "go/bin",
    "sdk",
    ".npm",
    ".nvm",
    ".cache/pip",
    ".pyenv",
    ".local/bin",
    ".local/lib",
];

/// Device files a command may read and write.
pub(super) const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

/// What skills.toml allows a role's commands beyond the defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Reach {
    /// Whether commands may use the network (default: no).
    pub network: bool,
    /// Extra readable folders or files (`~` is the home folder).
    pub read: Vec<String>,
    /// Extra writable folders or files.
    pub write: Vec<String>,
}

impl Reach {
    /// Whether this is the default (for leaving it out of a saved pipeline).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// One run's sandbox, with absolute paths; what the helper receives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub network: bool,
    pub read: Vec<PathBuf>,
    pub write: Vec<PathBuf>,
    /// The private temp folder, writable; `TMPDIR` points here. Empty until
    /// [`Plan::with_tmp`] (each run has its own).
    pub tmp: PathBuf,
    /// A writable folder the build caches of a session's commands share
    /// (Go's, npm's, pip's, `XDG_CACHE_HOME`), so a second `go test` does
    /// not rebuild the standard library; else they go in `tmp`.
    #[serde(default)]
    pub cache: Option<PathBuf>,
}

impl Plan {
    /// The plan for commands in `workspace`, with home and the toolchain
    /// folders from this process's environment.
    pub fn new(reach: &Reach, workspace: &Path) -> Self {
        Self::with_env(reach, workspace, |name| std::env::var(name).ok())
    }

    /// [`Plan::new`] reading the environment (`HOME`, `CARGO_HOME`,
    /// `RUSTUP_HOME`, `GOPATH`, `GOMODCACHE`, `GOROOT`) through `env`.
    pub fn with_env(reach: &Reach, workspace: &Path, env: impl Fn(&str) -> Option<String>) -> Self {
        let home = env("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
        let expand = |p: &String| -> Option<PathBuf> {
            match p.strip_prefix("~/") {
                Some(rest) => home.as_ref().map(|h| h.join(rest)),
                None if p == "~" => home.clone(),
                None => Some(PathBuf::from(p)),
            }
        };
        let mut read: Vec<PathBuf> = SYSTEM_READ.iter().map(PathBuf::from).collect();
        if let Some(home) = &home {
            read.extend(HOME_READ.iter().map(|p| home.join(p)));
        }
        for (var, subs) in [
            ("RUSTUP_HOME", &[""][..]),
            (
                "CARGO_HOME",
                &["bin", "registry", "git", "config.toml", "config"][..],
            ),
            ("GOPATH", &["pkg/mod", "bin"][..]),
            ("GOMODCACHE", &[""][..]),
            ("GOROOT", &[""][..]),
        ] {
            if let Some(base) = env(var).filter(|v| !v.is_empty()) {
                let base = PathBuf::from(base);
                read.extend(subs.iter().map(|s| {
                    if s.is_empty() {
                        base.clone()
                    } else {
                        base.join(s)
                    }
                }));
            }
        }
        read.extend(reach.read.iter().filter_map(expand));
        read.push(workspace.to_path_buf());
        let mut write = vec![workspace.to_path_buf()];
        write.extend(reach.write.iter().filter_map(expand));
        Self {
            network: reach.network,
            read,
            write,
            tmp: PathBuf::new(),
            cache: None,
        }
    }

    /// The same plan with `cache` as the shared cache folder.
    #[must_use]
    pub fn with_cache(&self, cache: Option<&Path>) -> Self {
        Self {
            cache: cache.map(Path::to_path_buf),
            ..self.clone()
        }
    }

    /// The same plan with `tmp` as its private temp folder.
    #[must_use]
    pub fn with_tmp(&self, tmp: &Path) -> Self {
        Self {
            tmp: tmp.to_path_buf(),
            ..self.clone()
        }
    }

    /// Environment settings for the command: the temp folder, and the
    /// build caches in the shared cache folder (else in the temp folder).
    pub fn env(&self) -> Vec<(&'static str, PathBuf)> {
        let cache = self.cache.as_ref().unwrap_or(&self.tmp);
        vec![
            ("TMPDIR", self.tmp.clone()),
            ("GOCACHE", cache.join("go-build")),
            ("npm_config_cache", cache.join("npm")),
            ("PIP_CACHE_DIR", cache.join("pip")),
            ("XDG_CACHE_HOME", cache.join("cache")),
            ("GIT_CONFIG_GLOBAL", PathBuf::from("/dev/null")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/home/u".into()),
            "CARGO_HOME" => Some("/opt/cargo".into()),
            _ => None,
        }
    }

    #[test]
    fn home_is_not_readable_but_its_toolchains_are() {
        let plan = Plan::with_env(&Reach::default(), Path::new("/w"), env);
        let read = |p: &str| plan.read.iter().any(|r| r == Path::new(p));
        assert!(read("/usr") && read("/etc") && read("/w"));
        assert!(read("/home/u/.rustup") && read("/home/u/.cargo/registry"));
        assert!(read("/opt/cargo/registry") && read("/opt/cargo/bin"));
        assert!(!read("/opt/cargo") && !read("/opt/cargo/credentials.toml"));
        assert!(
            plan.read.iter().all(|r| !r.ends_with(".ssh")
                && !r.ends_with(".config")
                && r != Path::new("/home/u")
                && r != Path::new("/home/u/.cargo")),
            "{:?}",
            plan.read
        );
        assert_eq!(plan.write, [PathBuf::from("/w")]);
        assert!(!plan.network);
    }

    #[test]
    fn extra_folders_expand_home_and_the_temp_folder_is_per_run() {
        let reach = Reach {
            network: true,
            read: vec!["~/protos".into(), "/data".into()],
            write: vec!["~".into()],
        };
        let plan = Plan::with_env(&reach, Path::new("/w"), env).with_tmp(Path::new("/tmp/x"));
        assert!(plan.network);
        assert!(plan.read.contains(&PathBuf::from("/home/u/protos")));
        assert!(plan.read.contains(&PathBuf::from("/data")));
        assert_eq!(plan.write, [PathBuf::from("/w"), PathBuf::from("/home/u")]);
        assert_eq!(plan.tmp, Path::new("/tmp/x"));
        let env: Vec<_> = plan.env();
        assert!(env.contains(&("TMPDIR", PathBuf::from("/tmp/x"))));
        assert!(env.contains(&("GOCACHE", PathBuf::from("/tmp/x/go-build"))));
        let shared = plan.with_cache(Some(Path::new("/tmp/c")));
        assert!(
            shared
                .env()
                .contains(&("GOCACHE", PathBuf::from("/tmp/c/go-build")))
        );
        assert!(shared.env().contains(&("TMPDIR", PathBuf::from("/tmp/x"))));
    }
}
