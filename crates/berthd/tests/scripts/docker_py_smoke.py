"""docker-py (the Python SDK) against berthd: the calls a test framework
or a script makes every day. Run by tests/docker_py.rs with BERTH_SOCK
(the daemon's socket) and BERTH_BRIDGE (a bridge name the test owns)."""
import io
import os
import tarfile

import docker

c = docker.DockerClient(base_url="unix://" + os.environ["BERTH_SOCK"])
bridge = os.environ["BERTH_BRIDGE"]


def check(what, cond, got):
    if not cond:
        raise SystemExit(f"{what}: unexpected {got!r}")


check("ping", c.ping(), False)
check("run", c.containers.run("busybox", "echo hi", remove=True) == b"hi\n", None)
net = c.networks.create("dpynet", options={"com.docker.network.bridge.name": bridge})
web = c.containers.run("busybox", "httpd -f -p 80 -h /", detach=True, name="dpyweb", network="dpynet")
web.reload()
check("status", web.status == "running", web.status)
out = c.containers.run("busybox", ["sh", "-c", "wget -qO- http://dpyweb/etc/hostname"], network="dpynet", remove=True)
check("name resolution", out.strip().decode() == web.id[:12], out)
r = web.exec_run("sh -c 'echo out; exit 4'")
check("exec", (r.exit_code, r.output) == (4, b"out\n"), r)
bits, stat = web.get_archive("/etc/hostname")
check("get_archive", stat["name"] == "hostname", stat)
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    data = b"data\n"
    ti = tarfile.TarInfo("f.txt")
    ti.size = len(data)
    t.addfile(ti, io.BytesIO(data))
check("put_archive", web.put_archive("/tmp", buf.getvalue()), False)
check("cat", web.exec_run("cat /tmp/f.txt").output == b"data\n", None)
st = web.stats(stream=False)
check("stats", st["memory_stats"].get("usage", 0) > 0, st["memory_stats"])
check("top", web.top()["Titles"][:2] == ["UID", "PID"], web.top())
web.stop(timeout=1)
web.reload()
check("stop", web.status == "exited", web.status)
web.remove()
net.remove()
check("networks", "dpynet" not in [n.name for n in c.networks.list()], None)
check("images", ["busybox:latest"] in [i.tags for i in c.images.list()], None)
print("docker-py ok")
