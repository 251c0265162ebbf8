"""Run one command on many hosts with Fabric's ThreadingGroup.

    /usr/bin/python3 fabric_group.py SSH_CONFIG KNOWN_HOSTS KEY COMMAND HOST...

Hosts are names of SSH_CONFIG (HostName, Port and User come from it). Host
keys are checked against KNOWN_HOSTS and an unknown key is refused, like
OpenSSH's StrictHostKeyChecking yes (Fabric's own default accepts any key).
Only KEY is offered (no agent, no ~/.ssh keys), like IdentitiesOnly yes.

Prints "HOST<TAB>STDOUT" per host; exits 1 when any host failed, after
naming each failure on stderr.
"""

import sys

import paramiko
from fabric import Config, ThreadingGroup
from fabric.exceptions import GroupException


def main(argv):
    ssh_config, known_hosts, key, command, hosts = argv[1], argv[2], argv[3], argv[4], argv[5:]
    config = Config(runtime_ssh_path=ssh_config)
    group = ThreadingGroup(
        *hosts,
        config=config,
        connect_kwargs={"key_filename": [key], "allow_agent": False, "look_for_keys": False},
    )
    for c in group:
        c.client.load_host_keys(known_hosts)
        c.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        results = group.run(command, hide=True, warn=False)
        failed = {}
    except GroupException as e:
        results = {c: r for c, r in e.result.items() if not isinstance(r, BaseException)}
        failed = e.result.failed
    for c, r in results.items():
        if c not in failed:
            print(f"{c.original_host}\t{r.stdout.strip()}")
    for c, err in failed.items():
        print(f"{c.original_host}: {type(err).__name__}: {err}", file=sys.stderr)
    group.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
