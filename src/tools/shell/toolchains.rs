//! The build and package tools' options that run a program, reach
//! outside the workspace or widen a container (`go -toolexec`, `cargo
//! --config`, `npm --script-shell`, `pip --target /…`, `pytest
//! --basetemp`, `docker -v`, `make -f`, …), for [`super::risky`] to flag:
//! each finding makes the policy ask.

use super::risky::{flagged, outside};

/// `go … -exec`/`-toolexec`/`-vettool` and a linker chosen in `-ldflags`
/// run a program; `-o` and the profile files outside the workspace write
/// there.
pub(super) fn go(args: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for arg in args {
        let option = arg.split_once('=').map_or(arg.as_str(), |(o, _)| o);
        let runs = matches!(
            option.trim_start_matches('-'),
            "exec" | "toolexec" | "vettool"
        );
        if arg.starts_with('-') && runs {
            found.push(format!("go {option} runs a program"));
        }
        if arg.contains("extld") {
            found.push("go -ldflags -extld runs a linker of its choosing".to_owned());
        }
    }
    match (
        args.first().map(String::as_str),
        args.get(1).map(String::as_str),
    ) {
        (Some("env"), Some("-w" | "-u")) => {
            found.push(
                "go env -w changes the user's Go settings (GOFLAGS can run programs)".to_owned(),
            );
        }
        (Some("install"), _) => {
            found.push("go install writes to GOBIN, outside the workspace".to_owned());
        }
        (Some("clean"), _)
            if args
                .iter()
                .any(|a| matches!(a.as_str(), "-cache" | "-modcache" | "-fuzzcache")) =>
        {
            found.push("go clean -cache/-modcache deletes outside the workspace".to_owned());
        }
        _ => {}
    }
    let writes = [
        "-o",
        "-coverprofile",
        "-cpuprofile",
        "-memprofile",
        "-blockprofile",
        "-mutexprofile",
        "-trace",
        "-outputdir",
        "-modfile",
        "-overlay",
        "-pkgdir",
    ];
    let double: Vec<String> = writes.iter().map(|w| format!("-{w}")).collect();
    let double: Vec<&str> = double.iter().map(String::as_str).collect();
    found.extend(outside("go", args, &writes));
    found.extend(outside("go", args, &double));
    found
}

pub(super) fn cargo(args: &[String]) -> Vec<String> {
    let mut found = flagged(
        args,
        &[(
            "--config",
            "cargo --config can set a runner or wrapper, which runs any program",
        )],
    );
    found.extend(outside(
        "cargo",
        args,
        &[
            "--target-dir",
            "--artifact-dir",
            "--out-dir",
            "--manifest-path",
        ],
    ));
    found
}

pub(super) fn npm(args: &[String]) -> Vec<String> {
    let mut found = flagged(
        args,
        &[
            (
                "--script-shell",
                "--script-shell runs scripts with any program",
            ),
            ("--userconfig", "--userconfig can set the script shell"),
            ("--globalconfig", "--globalconfig can set the script shell"),
        ],
    );
    found.extend(outside("npm", args, &["--prefix", "-C"]));
    if args
        .iter()
        .any(|a| matches!(a.as_str(), "-g" | "--global" | "--location=global"))
    {
        found.push("npm --global writes outside the workspace".to_owned());
    }
    let first = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .map(String::as_str);
    let beyond = match first {
        Some("config" | "c") => args
            .iter()
            .any(|a| matches!(a.as_str(), "set" | "edit" | "delete" | "fix")),
        Some("set" | "publish" | "unpublish" | "login" | "adduser" | "token" | "owner") => true,
        _ => false,
    };
    if beyond {
        found.push(
            "this npm command acts outside the workspace (user config, the registry)".to_owned(),
        );
    }
    found
}

/// `pip` writes outside with `--user`, `--target`/`--prefix`/`--root`
/// elsewhere, and `pip config set` changes the user's settings.
pub(super) fn pip(args: &[String]) -> Vec<String> {
    let mut found = outside(
        "pip",
        args,
        &[
            "--target", "-t", "--prefix", "--root", "--src", "--log", "-d", "--dest", "--report",
        ],
    );
    if args.iter().any(|a| a == "--user") {
        found.push("pip --user writes to the user's site-packages".to_owned());
    }
    if args.first().is_some_and(|a| a == "config")
        && args
            .iter()
            .any(|a| matches!(a.as_str(), "set" | "edit" | "unset"))
    {
        found.push("pip config changes the user's pip settings".to_owned());
    }
    found
}

/// pytest deletes and recreates `--basetemp`, and writes its reports
/// where it is told.
pub(super) fn pytest(args: &[String]) -> Vec<String> {
    outside(
        "pytest",
        args,
        &[
            "--basetemp",
            "--junitxml",
            "--junit-xml",
            "--rootdir",
            "-c",
            "--confcutdir",
        ],
    )
}

pub(super) fn docker(args: &[String]) -> Vec<String> {
    let host = [
        "-v",
        "--volume",
        "--mount",
        "--privileged",
        "--pid",
        "--cap-add",
        "--device",
        "--security-opt",
        "--userns",
        "--network",
        "--net",
        "-o",
        "--output",
    ];
    args.iter()
        .filter_map(|a| {
            let option = a.split_once('=').map_or(a.as_str(), |(o, _)| o);
            host.contains(&option)
                .then(|| format!("docker {option} reaches the host"))
        })
        .collect()
}

/// `make NAME=value` overrides the Makefile (`SHELL=…` runs anything);
/// `--eval` adds rules; `-f` reads another makefile.
pub(super) fn make(args: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    if args.iter().any(|a| !a.starts_with('-') && a.contains('=')) {
        found.push("make NAME=value overrides the Makefile's variables".to_owned());
    }
    found.extend(flagged(
        args,
        &[
            ("--eval", "make --eval adds rules"),
            ("-E", "make -E adds rules"),
            ("-f", "make -f reads another makefile"),
            ("--file", "make --file reads another makefile"),
            ("--makefile", "make --makefile reads another makefile"),
            ("-C", "make -C runs another folder's makefile"),
            (
                "--directory",
                "make --directory runs another folder's makefile",
            ),
            ("-I", "make -I includes makefiles from another folder"),
            (
                "--include-dir",
                "make --include-dir includes makefiles from another folder",
            ),
        ],
    ));
    found
}
