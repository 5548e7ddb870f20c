use super::file::KEYS;
use super::*;

/// The configuration from the embedded defaults plus `yaml` (named `x.yaml`).
fn parse(yaml: &str) -> Result<NodeConfig, ConfigError> {
    parse_with(yaml, &Flags::default())
}

fn parse_with(yaml: &str, flags: &Flags) -> Result<NodeConfig, ConfigError> {
    let mut layers = Layers::embedded()?;
    file::apply(&mut layers, yaml, "x.yaml")?;
    layers.apply_flags(flags);
    layers.resolve()
}

#[test]
fn the_embedded_file_parses_and_agrees_with_the_constants() {
    // Checks the shipped conf/sibyl.yaml is valid, and that a file leaving a key out
    // gets the same value as the shipped file shows (constants == file).
    let from_file = Layers::embedded().expect("embedded yaml").resolve();
    let from_constants = Layers::builtin().resolve();
    assert_eq!(from_file, from_constants);
    let c = from_file.expect("resolves");
    assert_eq!(c.cluster_name, "Test Cluster");
    assert_eq!(c.native_transport_port, 9042);
    assert_eq!(c.storage_port, 7000);
    assert_eq!(c.admin_port, 7199);
    assert_eq!(c.commitlog_sync, CommitlogSync::Periodic);
    assert_eq!(c.commitlog_sync_period, Duration::from_secs(10));
    assert_eq!(c.commitlog_segment_size_bytes, 32 << 20);
    assert_eq!(c.seed_addresses(), vec!["127.0.0.1:7000".parse().unwrap()]);
    assert_eq!(c.data_dir, PathBuf::from("data/data"));
    assert_eq!(c.commitlog_dir, PathBuf::from("data/commitlog"));
    assert_eq!(c.system_dir(), PathBuf::from("data/system"));
}

#[test]
fn every_key_is_documented_in_the_embedded_file() {
    // Checks each key a file may set appears in conf/sibyl.yaml, set or commented out.
    for key in KEYS {
        let set = format!("\n{key}:");
        let commented = format!("\n# {key}:");
        assert!(
            DEFAULT_CONFIG_YAML.contains(&set) || DEFAULT_CONFIG_YAML.contains(&commented),
            "{key} is not documented in conf/sibyl.yaml"
        );
    }
}

#[test]
fn with_data_dir_keeps_everything_under_the_directory() {
    let c = NodeConfig::with_data_dir("/tmp/n1");
    assert_eq!(c.root_dir, PathBuf::from("/tmp/n1"));
    assert_eq!(c.data_dir, PathBuf::from("/tmp/n1/data"));
    assert_eq!(c.commitlog_dir, PathBuf::from("/tmp/n1/commitlog"));
    assert_eq!(c.system_dir(), PathBuf::from("/tmp/n1/system"));
}

#[test]
fn file_overrides_defaults_and_flags_override_the_file() {
    let yaml = "native_transport_port: 9999\nstorage_port: 7001\ncommitlog_sync: batch\n\
                listen_address: 127.0.0.5\n";
    let c = parse(yaml).expect("valid");
    assert_eq!(c.native_transport_port, 9999);
    assert_eq!(c.commitlog_sync, CommitlogSync::Batch);
    assert_eq!(c.listen_address, "127.0.0.5".parse::<IpAddr>().unwrap());
    assert_eq!(c.rpc_address, c.listen_address, "rpc follows listen");
    assert_eq!(c.admin_address, c.listen_address, "admin follows listen");
    assert_eq!(
        c.cluster_name, "Test Cluster",
        "untouched keys keep the default"
    );
    let flags = Flags {
        native_transport_port: Some(9043),
        commitlog_sync: Some(CommitlogSync::Group),
        listen_address: Some("127.0.0.6".parse().unwrap()),
        seeds: Some(Seed::parse_list("127.0.0.9").unwrap()),
        data_dir: Some("/d".into()),
        ..Flags::default()
    };
    let c = parse_with(yaml, &flags).expect("valid");
    assert_eq!(c.native_transport_port, 9043);
    assert_eq!(
        c.storage_port, 7001,
        "a flag not given leaves the file's value"
    );
    assert_eq!(c.commitlog_sync, CommitlogSync::Group);
    assert_eq!(c.rpc_address, "127.0.0.6".parse::<IpAddr>().unwrap());
    assert_eq!(c.seed_addresses(), vec!["127.0.0.9:7001".parse().unwrap()]);
    assert_eq!(c.data_dir, PathBuf::from("/d/data"));
    // An rpc_address given in the file stays when the flag moves listen_address.
    let c = parse_with("rpc_address: 127.0.0.7\n", &flags).expect("valid");
    assert_eq!(c.rpc_address, "127.0.0.7".parse::<IpAddr>().unwrap());
    assert_eq!(c.admin_address, "127.0.0.6".parse::<IpAddr>().unwrap());
}

#[test]
fn explicit_directories_in_a_file_stay_put_under_a_data_dir_flag() {
    let flags = Flags {
        data_dir: Some("/d".into()),
        ..Flags::default()
    };
    let c = parse_with(
        "data_file_directories:\n  - /fast/data\ncommitlog_directory: cl\n",
        &flags,
    )
    .expect("valid");
    assert_eq!(c.data_dir, PathBuf::from("/fast/data"));
    assert_eq!(c.commitlog_dir, PathBuf::from("cl"));
    assert_eq!(c.system_dir(), PathBuf::from("/d/system"));
}

#[test]
fn units_legacy_names_and_storage_wiring() {
    let c = parse(
        "commitlog_sync: group\ncommitlog_sync_group_window_in_ms: 5\n\
         commitlog_segment_size_in_mb: 8\nmemtable_heap_space: 64MiB\n\
         compaction_throughput_mb_per_sec: 16\nfile_cache_size: 1GiB\n\
         max_hint_window: 2m\nphi_convict_threshold: 12.5\n",
    )
    .expect("valid");
    assert_eq!(c.commitlog_sync_group_window, Duration::from_millis(5));
    assert_eq!(c.max_hint_window, Duration::from_secs(120));
    assert_eq!(c.phi_convict_threshold, 12.5);
    let s = c.storage_config().expect("storage config");
    assert!(
        matches!(s.commitlog_sync, SyncMode::Group { window } if window == Duration::from_millis(5))
    );
    assert_eq!(s.commitlog_segment_size, 8 << 20);
    assert_eq!(s.memtable_heap_space, 64 << 20);
    assert_eq!(s.compaction_throughput, 16 << 20);
    assert_eq!(s.file_cache_size, 1 << 30);
}

#[test]
fn snitch_locations() {
    let c = parse("endpoint_snitch: GossipingPropertyFileSnitch\n").expect("valid");
    assert_eq!((c.datacenter.as_str(), c.rack.as_str()), ("dc1", "rack1"));
    let c = parse(
        "endpoint_snitch: org.apache.cassandra.locator.GossipingPropertyFileSnitch\n\
         dc: eu-west\nrack: r2\n",
    )
    .expect("valid");
    assert_eq!((c.datacenter.as_str(), c.rack.as_str()), ("eu-west", "r2"));
    let c = parse("endpoint_snitch: SimpleSnitch\n").expect("valid");
    assert_eq!(
        (c.datacenter.as_str(), c.rack.as_str()),
        ("datacenter1", "rack1")
    );
}

#[test]
fn every_refusal_names_the_place_the_key_and_what_was_expected() {
    // Checks each kind of bad input gives its one-line message, with file and line.
    let cases: &[(&str, &str)] = &[
        ("comitlog_sync: batch", "x.yaml:1: unknown key 'comitlog_sync' (did you mean 'commitlog_sync'?)"),
        ("frobnicate: 1", "x.yaml:1: unknown key 'frobnicate'"),
        ("cluster_name: a\ncommitlog_sync: sometimes", "x.yaml:2: commitlog_sync: expected periodic, group or batch, got \"sometimes\""),
        ("commitlog_sync_period: 10", "commitlog_sync_period: expected a duration such as 500ms, 10s or 2m (units: d, h, m, s, ms, us, ns), got 10 (Cassandra 4.1 values carry their unit)"),
        ("commitlog_sync_period: 10 s", "commitlog_sync_period: expected a duration such as 500ms, 10s or 2m (units: d, h, m, s, ms, us, ns), got \"10 s\""),
        ("commitlog_sync_period: 0ms", "commitlog_sync_period: expected at least 1ms, got \"0ms\""),
        ("commitlog_segment_size: 32MB", "commitlog_segment_size: expected a size such as 512KiB, 16MiB or 1GiB (units: B, KiB, MiB, GiB), got \"32MB\""),
        ("commitlog_segment_size: 2GiB", "commitlog_segment_size: expected a size from 4KiB to 1GiB, got \"2GiB\""),
        ("compaction_throughput: 64MiB", "compaction_throughput: expected a rate such as 64MiB/s (units: B/s, KiB/s, MiB/s), got \"64MiB\""),
        ("listen_address: 127.0.0.300", "listen_address: expected an IP address such as 127.0.0.1, got \"127.0.0.300\""),
        ("listen_address: 0.0.0.0", "listen_address: expected the address this node is reached at, got the wildcard \"0.0.0.0\""),
        ("native_transport_port: 70000", "native_transport_port: expected a port number from 0 to 65535, got 70000"),
        ("storage_port: '7000'", "storage_port: expected a port number from 0 to 65535, got \"7000\""),
        ("num_tokens: 0", "num_tokens: expected an integer from 1 to 1536, got 0"),
        ("num_tokens: [1, 2]", "num_tokens: expected an integer from 1 to 1536, got a list"),
        ("cluster_name: {a: 1}", "cluster_name: expected a cluster name, got a mapping"),
        ("hinted_handoff_enabled: yes", "hinted_handoff_enabled: expected true or false, got \"yes\""),
        ("phi_convict_threshold: 3", "phi_convict_threshold: expected a number from 5 to 16, got 3"),
        ("endpoint_snitch: Ec2Snitch", "endpoint_snitch: expected SimpleSnitch or GossipingPropertyFileSnitch, got \"Ec2Snitch\""),
        ("data_file_directories: data", "data_file_directories: expected a list of one directory (- data/data), got \"data\""),
        ("data_file_directories: [a, b]", "data_file_directories: Sibyl supports one data directory, got 2"),
        ("commitlog_sync_period_in_ms: 10s", "commitlog_sync_period_in_ms: expected a number of milliseconds, got \"10s\""),
        ("commitlog_sync_period: 5ms\ncommitlog_sync_period_in_ms: 5", "x.yaml:2: commitlog_sync_period and commitlog_sync_period_in_ms are the same setting; give one of them"),
        ("commitlog_sync: batch\ncommitlog_sync: group", "x.yaml:2: not valid YAML: duplicated key in mapping"),
        ("seed_provider:\n  - class_name: Foo\n    parameters:\n      - seeds: \"127.0.0.1\"", "seed_provider: class_name: expected org.apache.cassandra.locator.SimpleSeedProvider, got \"Foo\""),
        ("seed_provider:\n  - class_name: SimpleSeedProvider\n    parameters:\n      - seeds: \"127.0.0.1, nope\"", "seed_provider: seeds: expected addresses such as 127.0.0.1 or 127.0.0.1:7000, separated by commas, got \"nope\""),
        ("seed_provider: 127.0.0.1", "seed_provider: expected a list of one class_name with its parameters (see conf/sibyl.yaml), got \"127.0.0.1\""),
        ("dc: dc2", "x.yaml:1: dc: applies only with endpoint_snitch: GossipingPropertyFileSnitch (SimpleSnitch puts every node in datacenter1/rack1)"),
        ("native_transport_port: 7000", "native_transport_port and storage_port are both 7000 on 127.0.0.1; each needs its own port"),
        ("- a\n- b", "x.yaml:1: expected keys with values at the top level, got a list"),
        ("a: 1\n---\nb: 2", "x.yaml:3: holds 2 YAML documents; expected one"),
    ];
    for (yaml, want) in cases {
        let err = parse(yaml).expect_err(yaml).to_string();
        assert!(
            err.contains(want),
            "for {yaml:?}\n got: {err}\nwant: {want}"
        );
    }
}

#[test]
fn an_empty_file_changes_nothing() {
    assert_eq!(parse(""), parse("# only a comment\n"));
    assert_eq!(
        parse("").expect("valid"),
        NodeConfig::load(None, &Flags::default()).expect("valid")
    );
}

#[test]
fn every_key_has_a_setter_that_checks_its_value() {
    // An empty list is the wrong type for every key: each must refuse it by name
    // (a key listed in KEYS without a setter would panic instead).
    for key in KEYS {
        let err = parse(&format!("{key}: []\n")).expect_err(key).to_string();
        assert!(
            err.starts_with(&format!("x.yaml:1: {key}: expected ")),
            "{err}"
        );
    }
    let c = parse("admin_address: 127.0.0.9\n").expect("valid");
    assert_eq!(c.admin_address, "127.0.0.9".parse::<IpAddr>().unwrap());
    assert_eq!(c.rpc_address, DEFAULT_RPC_ADDRESS);
}
