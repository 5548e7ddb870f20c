#!/usr/bin/env python3
"""Token-aware placement agrees: for 100 keys, the replicas the DataStax Python
driver computes from system.local/system.peers (its token map) equal what
`sibyl nodetool getendpoints` answers.

usage: ring_check.py SIBYL_BINARY HOST   (HOST: a node of a running 3-node cluster)
Exit 0 when every key agrees.
"""
import subprocess
import sys
import time

from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import WhiteListRoundRobinPolicy

KEYSPACE = "ring_check"
KEYS = 100
NODES = 3


def main():
    sibyl, host = sys.argv[1], sys.argv[2]
    # Sibyl does not propagate schema between nodes yet: no agreement to wait for,
    # and DDL goes to the one node the control connection reads metadata from.
    only_host = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([host]))
    cluster = Cluster([host], protocol_version=4, max_schema_agreement_wait=0,
                      execution_profiles={EXEC_PROFILE_DEFAULT: only_host})
    session = cluster.connect()
    deadline = time.time() + 15
    while len(cluster.metadata.all_hosts()) < NODES:  # learnt from system.peers
        if time.time() > deadline:
            print("ring_check: the driver sees %d hosts" % len(cluster.metadata.all_hosts()))
            return 1
        time.sleep(0.5)
        cluster.refresh_nodes()
    session.execute(
        "CREATE KEYSPACE IF NOT EXISTS %s WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 2}" % KEYSPACE)
    session.execute("CREATE TABLE IF NOT EXISTS %s.t (k text PRIMARY KEY, v int)" % KEYSPACE)
    cluster.refresh_schema_metadata()
    bad = 0
    for i in range(KEYS):
        key = "key-%d" % i
        driver = sorted(h.address for h in cluster.metadata.get_replicas(KEYSPACE, key.encode()))
        out = subprocess.run([sibyl, "nodetool", "-h", host, "getendpoints", KEYSPACE, "t", key],
                             capture_output=True, text=True)
        ours = sorted(out.stdout.split())
        if out.returncode != 0 or ours != driver:
            bad += 1
            print("ring_check: %s: driver %s, nodetool %s %s" % (key, driver, ours, out.stderr.strip()))
    cluster.shutdown()
    print("ring_check: %d/%d keys agree (hosts %d, RF 2)" % (KEYS - bad, KEYS, NODES))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
