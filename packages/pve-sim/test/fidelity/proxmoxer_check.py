"""Drive the Proxmox simulator with proxmoxer (Debian's python3-proxmoxer 1.2.0), a client
nobody in this project wrote, and print what it observed as one JSON document on stdout.

Input (JSON on stdin): host ("127.0.0.1:PORT"), ca (path of the simulator's certificate, given
to requests as the only CA bundle), token_user, token_name, token_value, password, node,
upload_file (a small ISO file to upload). The vitest test asserts on the observations; this
script only fails by itself when proxmoxer raises where no error was expected.
"""

import json
import os
import sys
import time
import urllib.parse

from proxmoxer import ProxmoxAPI
from proxmoxer.backends.https import AuthenticationError
from proxmoxer.core import ResourceException

cfg = json.load(sys.stdin)
NODE = cfg["node"]
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@host"


def error_of(call):
    """Run call, return what proxmoxer's exception carries (or None when it succeeded)."""
    try:
        call()
    except ResourceException as e:
        return {"status": e.status_code, "reason": e.content, "errors": None if e.errors is None else repr(e.errors)}
    return None


def wait(px, upid, timeout=30.0):
    """Poll tasks/{upid}/status every 0.2 s, as proxmoxer users do (1.2.0 has no task helper)."""
    node = upid.split(":")[1]
    deadline = time.monotonic() + timeout
    while True:
        st = px.nodes(node).tasks(upid).status.get()
        if st["status"] == "stopped":
            return st
        if time.monotonic() > deadline:
            raise RuntimeError("task %s still running" % upid)
        time.sleep(0.2)


def lifecycle(px, vmid):
    """Inventory, create, config round trip, power through tasks, snapshot, destroy."""
    out = {}
    qemu = px.nodes(NODE).qemu
    out["version"] = px.version.get()
    out["nodes"] = [{"node": n["node"], "status": n["status"]} for n in px.nodes.get()]
    out["storages"] = sorted(
        ({"storage": s["storage"], "type": s["type"], "content": sorted(s["content"].split(","))} for s in px.nodes(NODE).storage.get()),
        key=lambda s: s["storage"],
    )
    nextid = px.cluster.nextid.get()
    out["nextid"] = {"value": nextid, "type": type(nextid).__name__}

    upid = qemu.create(
        vmid=vmid,
        name="fid-%d" % vmid,
        memory=512,
        cores=1,
        scsihw="virtio-scsi-single",
        scsi0="local-lvm:1,discard=on,iothread=1",
        net0="virtio,bridge=vmbr0,firewall=1",
        tags="zeta;alpha",
        agent=1,
    )
    out["create_upid"] = upid
    out["create_task"] = wait(px, upid)
    out["create_taken"] = error_of(lambda: qemu.create(vmid=vmid, memory=512))
    out["nextid_taken"] = error_of(lambda: px.cluster.nextid.get(vmid=vmid))

    vm = qemu(vmid)
    before = vm.config.get()
    out["digest_before"] = before["digest"]
    out["tags_at_create"] = before.get("tags")
    out["put_config"] = vm.config.put(
        boot="order=scsi0;net0",
        tags="Zeta;beta,alpha",
        description="owner=ops; line two & more + plus",
        net1="virtio,bridge=vmbr0,trunks=10;20-30",
        ciuser="ops",
        sshkeys=urllib.parse.quote(SSH_KEY + "\n", safe=""),
        ipconfig0="ip=10.30.0.5/24,gw=10.30.0.1",
        ide2="local-lvm:cloudinit",
        digest=before["digest"],
    )
    after = vm.config.get()
    out["config"] = after
    out["stale_digest"] = error_of(lambda: vm.config.put(cores=2, digest=before["digest"]))
    out["python_bool"] = error_of(lambda: vm.config.put(onboot=True))
    out["no_options"] = error_of(lambda: vm.config.put())
    out["post_config_upid"] = vm.config.post(cores=2, digest=after["digest"])
    out["post_config_task"] = wait(px, out["post_config_upid"])
    out["pending"] = sorted(p["key"] for p in vm.pending.get())
    out["user_data"] = vm.cloudinit.dump.get(type="user")

    out["start_task"] = wait(px, vm.status.start.post())
    out["status_running"] = vm.status.current.get()
    out["resources"] = [r for r in px.cluster.resources.get(type="vm") if r["vmid"] == vmid]
    out["start_again_task"] = wait(px, vm.status.start.post())
    out["agent_ping_running"] = vm.agent.ping.post()
    out["agent_ifaces"] = vm.agent("network-get-interfaces").get()
    out["destroy_running"] = error_of(lambda: vm.delete())
    out["stop_task"] = wait(px, vm.status.stop.post())
    out["status_stopped"] = vm.status.current.get()
    out["stop_again_task"] = wait(px, vm.status.stop.post())
    out["reboot_stopped"] = error_of(lambda: vm.status.reboot.post())

    out["snapshot_task"] = wait(px, vm.snapshot.post(snapname="pre_change", description="before; x=y"))
    out["snapshots"] = vm.snapshot.get()
    out["snapshot_reserved"] = error_of(lambda: vm.snapshot.post(snapname="current"))
    out["snapshot_config"] = vm.snapshot("pre_change").config.get()

    last = vm.delete(purge=1, **{"destroy-unreferenced-disks": 1})
    out["destroy_task"] = wait(px, last)
    out["destroy_log"] = px.nodes(NODE).tasks(last).log.get(start=0, limit=50)
    out["gone"] = error_of(lambda: vm.config.get())
    out["tasks_newest_first"] = [t["type"] for t in px.nodes(NODE).tasks.get(limit=3, vmid=vmid)]
    out["bad_upid"] = error_of(lambda: px.nodes(NODE).tasks("UPID:nonsense").status.get())
    return out


def storage_upload(px):
    """Multipart upload through requests' own encoder (fields first, file part named filename)."""
    out = {}
    name = os.path.basename(cfg["upload_file"])
    with open(cfg["upload_file"], "rb") as fh:
        upid = px.nodes(NODE).storage("local").upload.post(content="iso", filename=fh)
    out["upload_task"] = wait(px, upid)
    volid = "local:iso/%s" % name
    out["iso_list"] = [v["volid"] for v in px.nodes(NODE).storage("local").content.get(content="iso")]
    out["iso_info"] = px.nodes(NODE).storage("local").content(volid).get()
    out["delete_task"] = wait(px, px.nodes(NODE).storage("local").content(volid).delete())
    return out


def main():
    report = {}
    token = ProxmoxAPI(
        cfg["host"],
        user=cfg["token_user"],
        token_name=cfg["token_name"],
        token_value=cfg["token_value"],
        verify_ssl=cfg["ca"],
    )
    report["token"] = lifecycle(token, 100)
    report["upload"] = storage_upload(token)

    ticket = ProxmoxAPI(cfg["host"], user="root@pam", password=cfg["password"], verify_ssl=cfg["ca"])
    tk, csrf = ticket.get_tokens()
    report["ticket_login"] = {"ticket": tk, "csrf": csrf}
    report["ticket"] = lifecycle(ticket, 101)
    # Past proxmoxer's renew age it posts the current ticket as the password (PVE's renewal);
    # a second later the new ticket's timestamp, hence the ticket, differs.
    time.sleep(1.1)
    ticket._backend.auth.birth_time -= ticket._backend.auth.renew_age + 1
    report["renewed_version"] = ticket.version.get()
    report["renewed_ticket"] = ticket.get_tokens()[0]

    try:
        ProxmoxAPI(cfg["host"], user="root@pam", password="wrong", verify_ssl=cfg["ca"])
        report["bad_password"] = None
    except AuthenticationError as e:
        report["bad_password"] = str(e)
    bad_token = ProxmoxAPI(
        cfg["host"],
        user=cfg["token_user"],
        token_name=cfg["token_name"],
        token_value="00000000-0000-0000-0000-000000000000",
        verify_ssl=cfg["ca"],
    )
    report["bad_token"] = error_of(lambda: bad_token.version.get())
    # Without the pinned CA the system trust store must refuse the self-signed certificate.
    system_ca = ProxmoxAPI(cfg["host"], user=cfg["token_user"], token_name=cfg["token_name"], token_value=cfg["token_value"])
    try:
        system_ca.version.get()
        report["system_ca"] = "accepted"
    except Exception as e:  # requests.exceptions.SSLError
        report["system_ca"] = type(e).__name__
    json.dump(report, sys.stdout)


main()
