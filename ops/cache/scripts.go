package cache

import (
	"fmt"
	"strings"

	"github.com/opsui/opsui/ops/remote"
)

// exitNoClient is the exit status of a built-in command on a host that has
// none of its clients. The scripts below also exit 2 when the server could
// not be reached or said nothing, and 3 when it answered with an error.
const exitNoClient = 4

// failPrefix opens the one line a built-in command writes to standard error
// when it fails; Flush reports the rest of it as the host's error.
const failPrefix = "opsui-flush: "

// Command returns the shell command that flushes the host's cache. Every
// value in it passes through remote.Quote; the password is not in it.
func (s Spec) Command() string {
	var b strings.Builder
	db := ""
	if s.DB != AllDBs {
		db = fmt.Sprint(s.DB)
	}
	vars := [][2]string{
		{"OPSUI_CACHE_KIND", string(s.Kind)},
		{"OPSUI_CACHE_ADDRESS", s.Address},
		{"OPSUI_CACHE_PORT", fmt.Sprint(s.Port)},
		{"OPSUI_CACHE_DB", db},
	}
	for _, v := range vars {
		fmt.Fprintf(&b, "%s=%s; export %s\n", v[0], remote.Quote(v[1]), v[0])
	}
	if s.Password != "" {
		// The password is the first line of standard input (see input).
		b.WriteString("IFS= read -r OPSUI_CACHE_AUTH || true; export OPSUI_CACHE_AUTH\n")
	}
	if s.Custom != "" {
		b.WriteString(s.Custom)
		b.WriteString("\n")
		return b.String()
	}
	b.WriteString(shellFail)
	switch s.Kind {
	case Redis:
		b.WriteString(pick(s.Client, ClientRedisCLI, redisCLI, redisPython))
	default:
		b.WriteString(pick(s.Client, ClientNC, memcachedNC, memcachedPython))
	}
	return b.String()
}

// shellFail is the built-in commands' way to fail: one line to stderr.
const shellFail = `opsui_fail() { code=$1; shift; printf '` + failPrefix + `%s\n' "$*" >&2; exit "$code"; }
where="$OPSUI_CACHE_KIND at $OPSUI_CACHE_ADDRESS:$OPSUI_CACHE_PORT"
`

// pick returns the script for the forced client, or one that uses the
// native client when the host has it and python3 otherwise.
func pick(client, native, nativeScript, pyScript string) string {
	py := "python3 -c " + remote.Quote(pyScript) + "\n"
	noClient := func(names string) string {
		// names are this package's constants: no quoting needed.
		return fmt.Sprintf("opsui_fail %d \"this host has no %s to reach $where: install one or set options.flush\"\n", exitNoClient, names)
	}
	switch client {
	case native:
		return fmt.Sprintf("command -v %s >/dev/null 2>&1 || %s%s", native, noClient(native), nativeScript)
	case ClientPython:
		return "command -v python3 >/dev/null 2>&1 || " + noClient("python3") + py
	}
	return fmt.Sprintf("if command -v %s >/dev/null 2>&1; then\n%selif command -v python3 >/dev/null 2>&1; then\n%selse\n%sfi\n",
		native, nativeScript, py, noClient(native+" nor python3"))
}

// memcachedNC talks to memcached with nc: one connection per request, each
// ended by quit so the server closes it and nc exits (whatever its
// variant). After flush_all the items are invisible but still counted by
// curr_items until the LRU crawler reclaims them, so it is started and
// curr_items polled for a few seconds. Only curr_items of the stats is shown.
const memcachedNC = `mc() {
	out=$(printf "$1" | nc -v -w 10 "$OPSUI_CACHE_ADDRESS" "$OPSUI_CACHE_PORT" 2>&1) ||
		opsui_fail 2 "cannot connect to $where${out:+: ${out##*: }}"
	out=$(printf '%s\n' "$out" | tr -d '\r' |
		awk '/^STAT curr_items /||(!/^STAT /&&!/^Connection to .* succeeded/&&!/^Ncat: /&&!/ open$/&&NF)')
	[ -n "$out" ] || opsui_fail 2 "no reply from $where"
}
echo '## before'; mc 'stats\r\nquit\r\n'; printf '%s\n' "$out"
echo '## flush'; mc 'flush_all\r\nquit\r\n'; printf '%s\n' "$out"
[ "$out" = OK ] || opsui_fail 3 "$where refused flush_all: $out"
echo '## crawl'; mc 'lru_crawler crawl all\r\nquit\r\n'; printf '%s\n' "$out"
crawl=$out; mc 'stats\r\nquit\r\n'
if [ "$crawl" = OK ]; then
	i=0
	while [ $i -lt 30 ]; do
		case $out in *"STAT curr_items 0"|*"STAT curr_items 0"[!0-9]*) break ;; esac
		sleep 0.1 2>/dev/null || sleep 1
		i=$((i + 1)); mc 'stats\r\nquit\r\n'
	done
fi
echo '## after'; printf '%s\n' "$out"
`

// memcachedPython is memcachedNC for hosts without nc.
const memcachedPython = `import os, socket, sys, time
addr, port = os.environ["OPSUI_CACHE_ADDRESS"], int(os.environ["OPSUI_CACHE_PORT"])
where = "memcached at %s:%d" % (addr, port)

def fail(code, msg):
    sys.stdout.flush()
    sys.stderr.write("` + failPrefix + `%s\n" % msg)
    sys.exit(code)

def talk(req):
    try:
        s = socket.create_connection((addr, port), timeout=10)
        s.sendall(req.encode() + b"quit\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.close()
    except OSError as e:
        fail(2, "cannot connect to %s: %s" % (where, e.strerror or e))
    text = data.decode("utf-8", "replace").replace("\r", "")
    lines = [l for l in text.split("\n") if l and (not l.startswith("STAT ") or l.startswith("STAT curr_items "))]
    if not lines:
        fail(2, "no reply from " + where)
    return lines

def show(title, lines):
    print("## " + title)
    for l in lines:
        print(l)

show("before", talk("stats\r\n"))
out = talk("flush_all\r\n")
show("flush", out)
if out != ["OK"]:
    fail(3, "%s refused flush_all: %s" % (where, " ".join(out)))
crawl = talk("lru_crawler crawl all\r\n")
show("crawl", crawl)
after = talk("stats\r\n")
if crawl == ["OK"]:
    for _ in range(30):
        if "STAT curr_items 0" in after:
            break
        time.sleep(0.1)
        after = talk("stats\r\n")
show("after", after)
`

// redisCLI talks to Redis with redis-cli, which takes the password from
// REDISCLI_AUTH and answers errors with exit status 0: the replies are
// checked here.
const redisCLI = `[ -n "${OPSUI_CACHE_AUTH:-}" ] && { REDISCLI_AUTH=$OPSUI_CACHE_AUTH; export REDISCLI_AUTH; }
rc() {
	out=$(redis-cli -h "$OPSUI_CACHE_ADDRESS" -p "$OPSUI_CACHE_PORT" ${OPSUI_CACHE_DB:+-n "$OPSUI_CACHE_DB"} "$@" 2>&1) ||
		opsui_fail 2 "cannot connect to $where: ${out##*: }"
	out=$(printf '%s\n' "$out" | tr -d '\r')
	printf '%s\n' "$out"
	bad=$(printf '%s\n' "$out" | grep -E -m1 '^(ERR|NOAUTH|WRONGPASS|NOPERM|LOADING|MISCONF|READONLY|BUSY|MASTERDOWN|AUTH failed)')
	[ -z "$bad" ] || opsui_fail 3 "$where refused $*: $bad"
}
echo '## before'; rc INFO keyspace
echo '## flush'
if [ -n "$OPSUI_CACHE_DB" ]; then rc FLUSHDB; else rc FLUSHALL; fi
[ "$out" = OK ] || opsui_fail 3 "$where did not flush: $out"
echo '## after'; rc INFO keyspace
`

// redisPython is redisCLI for hosts without redis-cli: RESP by hand.
const redisPython = `import os, socket, sys
addr, port = os.environ["OPSUI_CACHE_ADDRESS"], int(os.environ["OPSUI_CACHE_PORT"])
db = os.environ.get("OPSUI_CACHE_DB", "")
where = "redis at %s:%d" % (addr, port)

def fail(code, msg):
    sys.stdout.flush()
    sys.stderr.write("` + failPrefix + `%s\n" % msg)
    sys.exit(code)

class ReplyError(Exception):
    pass

try:
    conn = socket.create_connection((addr, port), timeout=10)
except OSError as e:
    fail(2, "cannot connect to %s: %s" % (where, e.strerror or e))
rf = conn.makefile("rb")

def reply():
    line = rf.readline()
    if not line.endswith(b"\r\n"):
        raise OSError("the connection closed")
    kind, rest = line[:1], line[1:-2].decode("utf-8", "replace")
    if kind == b"+":
        return rest
    if kind == b"-":
        raise ReplyError(rest)
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else rf.read(n + 2)[:-2].decode("utf-8", "replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [reply() for _ in range(n)]
    raise OSError("unexpected reply")

def call(*args):
    req = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        req += b"$%d\r\n%s\r\n" % (len(a), a)
    conn.sendall(req)
    return reply()

def step(title, *args):
    if title:
        print("## " + title)
    try:
        r = call(*args)
    except ReplyError as e:
        print(e)
        fail(3, "%s refused %s: %s" % (where, args[0] if args[0] == "AUTH" else " ".join(args), e))
    except OSError as e:
        fail(2, "lost the connection to %s: %s" % (where, e.strerror or e))
    if title:
        print(str(r).replace("\r", "").rstrip("\n"))
    return r

if os.environ.get("OPSUI_CACHE_AUTH"):
    step("", "AUTH", os.environ["OPSUI_CACHE_AUTH"])
if db:
    step("", "SELECT", db)
step("before", "INFO", "keyspace")
r = step("flush", "FLUSHDB" if db else "FLUSHALL")
if r != "OK":
    fail(3, "%s did not flush: %s" % (where, r))
step("after", "INFO", "keyspace")
`
