//! `cafix trace` on the broken layouts of the scenario harness
//! (tests/common): `/etc/ssl/certs` replaced, in a private mount namespace,
//! by a directory holding the system bundle (with the test root appended)
//! and one unrelated hash entry, the root's own `<hash>.0` missing: the Qt
//! on-demand case. The trace must name the missing hash and the CA, and
//! `--fix` must make the very same unmodified programs succeed.
//! Needs root, unshare, openssl, the c-tests clients (Qt 5/6 included).

mod common;
mod trace_harness;

use common::*;
use serde_json::Value;

fn verify_command(pki: &Pki) -> Vec<String> {
    [
        "openssl",
        "verify",
        "-no-CAfile",
        "-no-CAstore",
        "-CApath",
        "/etc/ssl/certs/",
        "-untrusted",
        pki.intermediate.cert.to_str().unwrap(),
        pki.leaf.cert.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The hash record of the root: looked up, missing, and naming the root CA.
fn assert_root_hash_named(json: &Value, context: &dyn std::fmt::Display) {
    let pki = pki();
    let h = trace_harness::hash(json, &pki.root.hash)
        .unwrap_or_else(|| panic!("root hash not looked up:\n{json:#}\n{context}"));
    assert_eq!(h["missing"], true, "{h:#}");
    assert_eq!(h["in_system_bundle"], true, "{h:#}");
    assert!(
        h["cas"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains(&pki.root.cn)),
        "{h:#}"
    );
}

#[test]
fn qt_style_on_demand_lookup_is_named_and_fixed() {
    let pki = pki();
    let scenario = Scenario::new();
    let cmd = verify_command(pki);

    // Plain: fails.
    let out = scenario.run("openssl", &cmd[1..], &[], false);
    assert!(
        !out.success() && out.all().contains(OPENSSL_LOCAL_ISSUER_ERROR),
        "{out}"
    );

    // Traced: still fails, and the summary says why.
    let (out, json) = scenario.trace(false, &strs(&cmd));
    assert_eq!(out.status.code(), Some(2), "{out}");
    assert!(out.all().contains(OPENSSL_LOCAL_ISSUER_ERROR), "{out}");
    assert_root_hash_named(&json, &out);
    let entry = format!("/etc/ssl/certs//{}.0", pki.root.hash);
    // Debian's OpenSSL lstat()s, upstream's stat()s.
    let a = trace_harness::access(&json, &entry, "lstat")
        .or_else(|| trace_harness::access(&json, &entry, "stat"))
        .unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(a["outcome"], "missing");
    assert_eq!(json["system_bundle"]["read"], false, "{json:#}");
    let verdict = json["verdict"].as_str().unwrap();
    let expected = format!(
        "looked up {} in /etc/ssl/certs/ (on-demand hash directory) and never read the system bundle; the CA \"",
        pki.root.hash
    );
    assert!(verdict.starts_with(&expected), "{verdict}");
    assert!(
        verdict.contains(&pki.root.cn) && verdict.contains("is only in the bundle"),
        "{verdict}"
    );

    // The text summary says the same on stderr.
    let mut args = vec!["trace", "--"];
    args.extend(strs(&cmd));
    let out = scenario.run(trace_harness::cafix(), &args, &[], false);
    assert_eq!(out.status.code(), Some(2), "{out}");
    assert!(
        out.stderr.contains(&format!("cafix trace: verdict: {expected}")),
        "{out}"
    );
    assert!(
        out.stderr.contains(&format!(
            "cafix trace:   {} in /etc/ssl/certs/ (.0): missing",
            pki.root.hash
        )),
        "{out}"
    );

    // --fix: the unmodified program succeeds.
    let (out, json) = scenario.trace(true, &strs(&cmd));
    assert_eq!(out.status.code(), Some(0), "{out}");
    assert!(out.stdout.contains(": OK"), "{out}");
    let fixed = json["fixed"].as_array().unwrap();
    assert!(fixed.iter().any(|f| f["path"] == entry.as_str()), "{json:#}");
    assert!(
        fixed
            .iter()
            .all(|f| f["served"].as_str().unwrap().contains(&pki.root.cn)),
        "{json:#}"
    );
    assert!(json["verdict"].as_str().unwrap().contains("--fix served"), "{json:#}");
    // Nothing of the fix is left behind.
    assert!(
        scenario.certs_dir().read_dir().unwrap().count() == 2,
        "the scenario directory was modified"
    );
}

#[test]
fn a_dangling_symlink_is_reported_as_such_and_served() {
    let pki = pki();
    let scenario = Scenario::new().with_broken_root_symlink();
    let cmd = verify_command(pki);
    let (out, json) = scenario.trace(false, &strs(&cmd));
    assert_eq!(out.status.code(), Some(2), "{out}");
    let entry = format!("/etc/ssl/certs//{}.0", pki.root.hash);
    let a = trace_harness::access(&json, &entry, "stat").unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(a["outcome"], "broken-symlink", "{a:#}");
    // Debian's OpenSSL lstat()s first: the link itself is there.
    if let Some(l) = trace_harness::access(&json, &entry, "lstat") {
        assert_eq!(l["outcome"], "found", "{l:#}");
    }
    assert_root_hash_named(&json, &out);

    let (out, _) = scenario.trace(true, &strs(&cmd));
    assert_eq!(out.status.code(), Some(0), "{out}");
}

#[test]
fn a_hash_collision_is_served_after_the_real_entry() {
    // <root hash>.0 is a different CA (the decoy); the root can only be <hash>.1.
    let pki = pki();
    let scenario = Scenario::new().with_root_hash_collision();
    let cmd = verify_command(pki);
    let (out, json) = scenario.trace(false, &strs(&cmd));
    assert_eq!(out.status.code(), Some(2), "{out}");
    let h = trace_harness::hash(&json, &pki.root.hash).unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(h["found"], true, "{h:#}");
    assert!(
        h["cas_not_in_entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains(&pki.root.cn)),
        "{h:#}"
    );
    assert!(json["verdict"].as_str().unwrap().contains(&pki.root.hash), "{json:#}");

    let (out, json) = scenario.trace(true, &strs(&cmd));
    assert_eq!(out.status.code(), Some(0), "{out}");
    let entry1 = format!("/etc/ssl/certs//{}.1", pki.root.hash);
    let fixed: Vec<&str> = json["fixed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(fixed.contains(&entry1.as_str()), "{fixed:?}");
    let entry0 = format!("/etc/ssl/certs//{}.0", pki.root.hash);
    assert!(
        !fixed.contains(&entry0.as_str()),
        "the real entry was hidden: {fixed:?}"
    );
}

/// Every capath/dir client of the harness, Qt included, traced against a
/// real server: without --fix it fails and the trace names the root's hash;
/// with --fix it succeeds.
#[test]
fn real_clients_fail_plain_and_pass_under_trace_fix() {
    let pki = pki();
    let scenario = Scenario::new();
    let server = scenario.start_server();
    let port = server.port.to_string();
    let c = clients();
    let python = common::python3().to_str().unwrap().to_string();
    let cases: Vec<(Client, Vec<String>)> = vec![
        (
            Client::OpensslCapath,
            vec![
                c.openssl.display().to_string(),
                "capath".into(),
                TRUST_DIR.into(),
                "localhost".into(),
                port.clone(),
            ],
        ),
        (
            Client::DlopenCapath,
            vec![
                c.dlopen.display().to_string(),
                "capath".into(),
                TRUST_DIR.into(),
                "localhost".into(),
                port.clone(),
            ],
        ),
        (
            Client::DlopenQtStyle,
            vec![
                c.dlopen_unversioned.display().to_string(),
                "dir".into(),
                "/etc/ssl/certs/".into(),
                "localhost".into(),
                port.clone(),
            ],
        ),
        (
            Client::PythonCapath,
            vec![
                python,
                "-I".into(),
                "-c".into(),
                PYTHON_CLIENT.into(),
                TRUST_DIR.into(),
                "127.0.0.1".into(),
                port.clone(),
            ],
        ),
        (Client::Qt5, vec![c.qt5.display().to_string(), server.url()]),
        (Client::Qt6, vec![c.qt6.display().to_string(), server.url()]),
    ];
    for (client, cmd) in cases {
        let (out, json) = scenario.trace(false, &strs(&cmd));
        assert!(
            !out.success() && out.all().contains(client.local_issuer_error()),
            "{client:?} plain:\n{out}"
        );
        assert_root_hash_named(&json, &out);
        assert!(
            json["verdict"].as_str().unwrap().contains(&pki.root.hash),
            "{client:?}: {json:#}"
        );

        let (out, json) = scenario.trace(true, &strs(&cmd));
        assert_succeeded(&out);
        assert!(!json["fixed"].as_array().unwrap().is_empty(), "{client:?}: {json:#}");
    }
}
