package webtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/testenv"
)

// webHost is one sshtest host running the demo app under gunicorn.
type webHost struct {
	h        *sshtest.Host
	c        *ssh.Client
	deployTo string // absolute, on the host
	app      string // gunicorn's "addr:port"
}

// run runs cmd on the host with stdin and returns its standard output.
func (w *webHost) run(cmd string, stdin []byte) (string, error) {
	s, err := w.c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	if stdin != nil {
		s.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	s.Stderr = &stderr
	out, err := s.Output(cmd)
	if err != nil {
		return string(out), fmt.Errorf("%s: %q: %w: %s", w.h.Name, cmd, err, stderr.String())
	}
	return string(out), nil
}

func (w *webHost) must(t *testing.T, cmd string) string {
	t.Helper()
	out, err := w.run(cmd, nil)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

func (w *webHost) runner() Runner { return func(cmd string) (string, error) { return w.run(cmd, nil) } }

// The recipe under test, as shell on the host. D is deploy_to.

// releaseScript unpacks the tar on stdin into releases/$ID, writes REVISION,
// links shared files and makes the release's virtualenv from Debian's
// python (Django comes from the system site-packages; nothing is fetched).
const releaseScript = `set -e
mkdir -p "$D/releases/$ID" "$D/shared/logs"
cd "$D"
[ -e shared/.env ] || printf 'DJANGO_SECRET_KEY=webtest-%s\n' "$(uname -n)" >shared/.env
tar -x -C "releases/$ID"
printf '%s\n' "$COMMIT" >"releases/$ID/REVISION"
ln -sfn ../../shared/.env "releases/$ID/.env"
/usr/bin/python3 -m venv --system-site-packages --without-pip "releases/$ID/venv"`

// switchScript points current at releases/$ID atomically.
const switchScript = `set -e
cd "$D"
test -d "releases/$ID"
ln -sfn "releases/$ID" current.tmp
mv -T current.tmp current`

// startScript starts gunicorn so that a HUP loads whatever current points
// to: from a directory that is never deleted (the master's start directory
// is gunicorn's default chdir, re-validated on every HUP), through the
// symlink for the interpreter (the venv), the config file and --chdir.
const startScript = `set -e
cd "$D"
"$D/current/venv/bin/python" -m gunicorn \
	-c "$D/current/gunicorn.conf.py" \
	--chdir "$D/current" \
	--pid "$D/shared/gunicorn.pid" \
	--daemon \
	--bind "$BIND" \
	--workers 2 \
	--error-logfile "$D/shared/logs/gunicorn.log" \
	shopsite.wsgi:application`

// reloadScript sends HUP to the master and prints its pid, then the pids
// of its workers before the HUP.
const reloadScript = `set -e
pid=$(cat "$D/shared/gunicorn.pid")
echo "$pid" $(pgrep -P "$pid")
kill -HUP "$pid"`

// reload runs reloadScript and returns the master's pid and its old workers.
func (w *webHost) reload(t *testing.T) (pid string, old []string) {
	t.Helper()
	f := strings.Fields(w.must(t, env("D", w.deployTo)+reloadScript))
	return f[0], f[1:]
}

// waitReloadedScript waits until the master $PID has $WORKERS live workers
// and none of the workers $OLD it had before the HUP (zombies not counted).
// The pidfile cannot be used meanwhile: gunicorn deletes and rewrites it on
// every HUP.
const waitReloadedScript = `old=" $OLD "
end=$(($(date +%s) + 15))
while :; do
	kill -0 "$PID" 2>/dev/null || { echo "master $PID died"; exit 1; }
	n=0 stale=
	for k in $(pgrep -P "$PID"); do
		case "$(ps -o stat= -p "$k")" in Z*|"") continue ;; esac
		n=$((n + 1))
		case "$old" in *" $k "*) stale="$stale $k" ;; esac
	done
	if [ -z "$stale" ] && [ "$n" -ge "$WORKERS" ]; then exit 0; fi
	if [ "$(date +%s)" -ge "$end" ]; then echo "old workers still running:$stale ($n live)"; exit 1; fi
	sleep 0.01
done`

// waitReloaded waits until the HUP of master pid has replaced the workers
// old by new ones.
func (w *webHost) waitReloaded(t *testing.T, pid string, old []string) {
	t.Helper()
	w.must(t, env("PID", pid, "OLD", strings.Join(old, " "), "WORKERS", "2")+waitReloadedScript)
}

func env(vars ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(vars); i += 2 {
		fmt.Fprintf(&b, "%s=%s ", vars[i], shellQuote(vars[i+1]))
	}
	return "export " + b.String() + "\n"
}

// health GETs the health URL of an app server directly.
func health(client *http.Client, addr string) (int, string, error) {
	resp, err := client.Get("http://" + addr + demoapp.HealthPath)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitRelease polls the app's health check until it reports release id,
// and returns how long that took.
func waitRelease(t *testing.T, client *http.Client, addr, id string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var last string
	for {
		code, body, err := health(client, addr)
		if err == nil && code == 200 && strings.Contains(body, " release="+id+" ") {
			return time.Since(start)
		}
		last = fmt.Sprintf("%d %q %v", code, body, err)
		if time.Since(start) > timeout {
			t.Fatalf("%s does not report release %s after %v; last answer: %s", addr, id, timeout, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func freeAddr(t *testing.T, ip string) string {
	t.Helper()
	port, err := testenv.FreePort(ip)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort(ip, strconv.Itoa(port))
}

// TestGunicornRollingHUPBehindNginx does by hand what a rolling deploy of
// the Django demo app does, on two real sshd hosts behind a real nginx, and
// checks the recipe: no failed request, every host ends on the new release,
// and no request sent after a host's reload is served by the old release.
func TestGunicornRollingHUPBehindNginx(t *testing.T) {
	RequireGunicorn(t)
	t.Parallel()
	ctx := context.Background()
	repo, err := demoapp.Create(ctx, filepath.Join(t.TempDir(), "shop"))
	if err != nil {
		t.Fatal(err)
	}
	const id1, id2, id3 = "20260105090000", "20260105100000", "20260105110000"
	commit1, commit2 := repo.Hash(demoapp.CommitInitial), repo.Hash(demoapp.CommitGreeting)
	tar1, err := repo.Archive(ctx, commit1)
	if err != nil {
		t.Fatal(err)
	}
	tar2, err := repo.Archive(ctx, commit2)
	if err != nil {
		t.Fatal(err)
	}

	f := sshtest.Start(t, 2)
	hosts := make([]*webHost, len(f.Hosts))
	for i, h := range f.Hosts {
		c, err := ssh.Dial("tcp", h.Address(), f.ClientConfig(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		w := &webHost{h: h, c: c, app: freeAddr(t, h.Addr)}
		// Each isolated host has its own home; without isolation they
		// share one, so give each its own tree.
		w.deployTo = w.must(t, `echo "$HOME"`) + "/srv/shop-" + h.Name
		hosts[i] = w
		if !f.Isolated {
			// Processes outlive a host that is not isolated: stop gunicorn.
			t.Cleanup(func() { _, _ = w.run(`kill -TERM $(cat `+shellQuote(w.deployTo+"/shared/gunicorn.pid")+`)`, nil) })
		}
	}

	// Ship both releases and start gunicorn on release 1, all hosts at once.
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(hosts))
	for i, w := range hosts {
		wg.Go(func() {
			for _, r := range []struct {
				id, commit string
				tar        []byte
			}{{id1, commit1, tar1}, {id2, commit2, tar2}} {
				if _, err := w.run(env("D", w.deployTo, "ID", r.id, "COMMIT", r.commit)+releaseScript, r.tar); err != nil {
					errs[i] = err
					return
				}
			}
			if _, err := w.run(env("D", w.deployTo, "ID", id1)+switchScript, nil); err != nil {
				errs[i] = err
				return
			}
			_, errs[i] = w.run(env("D", w.deployTo, "BIND", w.app)+startScript, nil)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, w := range hosts {
		waitRelease(t, client, w.app, id1, 15*time.Second)
	}
	t.Logf("2 releases shipped, gunicorn started and serving on 2 hosts in %v", time.Since(start).Round(time.Millisecond))

	backends := []string{hosts[0].app, hosts[1].app}
	nginx := StartNginx(t, "127.0.0.1:0", backends)
	load := StartLoad(ctx, nginx.URL(demoapp.HealthPath), 8, KeyFields("host", "release"))
	defer load.Stop()
	time.Sleep(300 * time.Millisecond)

	// Rolling: switch and HUP one host at a time. A host is done when its
	// health check reports the new release and its old workers are gone.
	done := make(map[string]time.Time)
	firstNew := make(map[string]time.Time)
	for _, w := range hosts {
		w.must(t, env("D", w.deployTo, "ID", id2)+switchScript)
		hup := time.Now()
		pid, old := w.reload(t)
		took := waitRelease(t, client, w.app, id2, 15*time.Second)
		firstNew[w.h.Name] = time.Now()
		w.waitReloaded(t, pid, old)
		done[w.h.Name] = time.Now()
		t.Logf("%s: HUP at +%v; first answer from release 2 after %v, old workers %v gone after %v",
			w.h.Name, hup.Sub(load.Snapshot().Start).Round(time.Millisecond), took.Round(time.Millisecond), old,
			done[w.h.Name].Sub(hup).Round(time.Millisecond))
		time.Sleep(200 * time.Millisecond)
	}
	res := load.Stop()
	t.Logf("load through nginx: %v", res)

	if res.Failed != 0 || res.Total < 100 {
		t.Errorf("%d of %d requests failed: %v", res.Failed, res.Total, res)
	}
	for _, w := range hosts {
		oldKey, newKey := w.h.Name+" "+id1, w.h.Name+" "+id2
		if f.Isolated && (res.Releases[oldKey].Count == 0 || res.Releases[newKey].Count == 0) {
			t.Errorf("%s: release 1 answered %d and release 2 %d requests", w.h.Name, res.Releases[oldKey].Count, res.Releases[newKey].Count)
		}
		if last := res.Releases[oldKey].LastSent; last.After(done[w.h.Name]) {
			t.Errorf("%s: a request sent %v after the host's reload completed was served by release 1",
				w.h.Name, last.Sub(done[w.h.Name]))
		} else if last.After(firstNew[w.h.Name]) {
			t.Logf("%s: release 1 still answered a request sent %v after the first answer from release 2",
				w.h.Name, last.Sub(firstNew[w.h.Name]))
		}
		_, body, err := health(client, w.app)
		if err != nil || !strings.Contains(body, "release="+id2+" commit="+commit2+" ") ||
			!strings.Contains(body, " python="+w.deployTo+"/releases/"+id2+"/venv ") {
			t.Errorf("%s: health after the deploy: %q, %v", w.h.Name, body, err)
		}
		CheckRelease(t, w.runner(), w.deployTo, id2, commit2)
	}

	// The app's gunicorn.conf.py (read through current) and its Django
	// settings log into shared/logs.
	for _, name := range []string{"access.log", "shop.log"} {
		if got := hosts[0].must(t, "grep -c 'GET /health/' "+shellQuote(hosts[0].deployTo+"/shared/logs/"+name)+" || true"); got == "0" || got == "" {
			t.Errorf("shared/logs/%s has no request lines", name)
		}
	}

	// Cleanup: the releases running processes use. After the HUP, the master
	// and its workers are in release 2 only, so release 1 can go, and the
	// master survives the next HUP.
	w := hosts[0]
	pid := w.must(t, "cat "+shellQuote(w.deployTo+"/shared/gunicorn.pid"))
	if inUse, err := ReleasesInUse(w.runner(), w.deployTo); err != nil || !slices.Equal(inUse, []string{id2}) {
		t.Errorf("releases in use after the deploy: %v, %v; want [%s]", inUse, err, id2)
	}
	w.must(t, "rm -rf "+shellQuote(w.deployTo+"/releases/"+id1))
	if p, old := w.reload(t); p != pid {
		t.Errorf("pidfile holds %s, want %s", p, pid)
	} else {
		w.waitReloaded(t, pid, old) // fails if the master died
	}
	waitRelease(t, client, w.app, id2, 15*time.Second)

	// A switch without a reload leaves the master in the old release:
	// cleanup must see it in use.
	w.must(t, `set -e; cd `+shellQuote(w.deployTo)+`; cp -a releases/`+id2+` releases/`+id3+`; echo `+commit2+` >releases/`+id3+`/REVISION`)
	w.must(t, env("D", w.deployTo, "ID", id3)+switchScript)
	if inUse, err := ReleasesInUse(w.runner(), w.deployTo); err != nil || !slices.Equal(inUse, []string{id2}) {
		t.Errorf("releases in use after a switch without HUP: %v, %v; want [%s]", inUse, err, id2)
	}
	_, old := w.reload(t)
	w.waitReloaded(t, pid, old)
	waitRelease(t, client, w.app, id3, 15*time.Second)
	if inUse, err := ReleasesInUse(w.runner(), w.deployTo); err != nil || !slices.Equal(inUse, []string{id3}) {
		t.Errorf("releases in use after HUP into %s: %v, %v", id3, inUse, err)
	}

	// What cleanup must never do: delete the release the master is in. The
	// master dies on its next HUP (gunicorn re-validates its default chdir,
	// the current directory, while re-reading its configuration), and with
	// --daemon nothing says so but the error log, if any.
	w = hosts[1]
	w.must(t, `set -e; cd `+shellQuote(w.deployTo)+`; cp -a releases/`+id2+` releases/`+id3+`; echo `+commit2+` >releases/`+id3+`/REVISION`)
	w.must(t, env("D", w.deployTo, "ID", id3)+switchScript)
	pid = w.must(t, "cat "+shellQuote(w.deployTo+"/shared/gunicorn.pid"))
	w.must(t, "rm -rf "+shellQuote(w.deployTo+"/releases/"+id2))
	w.must(t, "kill -HUP "+pid)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if w.must(t, "kill -0 "+pid+" 2>/dev/null && echo alive || echo dead") == "dead" {
			t.Logf("%s: master %s, whose release directory was deleted, died on HUP (as expected); its log:\n%s", w.h.Name, pid,
				w.must(t, "tail -n 5 "+shellQuote(w.deployTo+"/shared/logs/gunicorn.log")))
			break
		}
		if time.Now().After(deadline) {
			t.Logf("%s: master %s survived a HUP after its release directory was deleted (gunicorn changed?)", w.h.Name, pid)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDebianGunicornIgnoresTheReleaseVenv shows why the recipe runs
// gunicorn with the release's venv python: /usr/bin/gunicorn runs
// /usr/bin/python3 and never sees a release virtualenv.
func TestDebianGunicornIgnoresTheReleaseVenv(t *testing.T) {
	RequireGunicorn(t)
	t.Parallel()
	ctx := context.Background()
	repo, err := demoapp.Create(ctx, filepath.Join(t.TempDir(), "shop"))
	if err != nil {
		t.Fatal(err)
	}
	tar1, err := repo.Archive(ctx, repo.Hash(demoapp.CommitInitial))
	if err != nil {
		t.Fatal(err)
	}
	f := sshtest.Start(t, 1)
	c, err := ssh.Dial("tcp", f.Hosts[0].Address(), f.ClientConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	w := &webHost{h: f.Hosts[0], c: c, app: freeAddr(t, f.Hosts[0].Addr)}
	w.deployTo = w.must(t, `echo "$HOME"`) + "/srv/debian-gunicorn"
	if !f.Isolated {
		t.Cleanup(func() { _, _ = w.run(`kill -TERM $(cat `+shellQuote(w.deployTo+"/shared/gunicorn.pid")+`)`, nil) })
	}
	const id = "20260105090000"
	if _, err := w.run(env("D", w.deployTo, "ID", id, "COMMIT", repo.Hash(demoapp.CommitInitial))+releaseScript, tar1); err != nil {
		t.Fatal(err)
	}
	w.must(t, env("D", w.deployTo, "ID", id)+switchScript)
	w.must(t, env("D", w.deployTo, "BIND", w.app)+strings.Replace(startScript, `"$D/current/venv/bin/python" -m gunicorn`, GunicornPath, 1))
	client := &http.Client{Timeout: 10 * time.Second}
	waitRelease(t, client, w.app, id, 15*time.Second)
	_, body, err := health(client, w.app)
	if err != nil || !strings.Contains(body, " python=/usr ") {
		t.Errorf("health under %s: %q, %v; want python=/usr", GunicornPath, body, err)
	}
	t.Logf("under %s: %s", GunicornPath, strings.TrimSpace(body))
}

// TestGunicornStartedInAReleaseDiesWhenItIsPruned shows why the recipe
// starts gunicorn from deploy_to: gunicorn's default chdir is the directory
// it was started in, and every HUP re-validates it before applying --chdir.
// Started inside a release, the master follows current on HUP (thanks to
// --chdir), but dies on the first HUP after that release is deleted.
func TestGunicornStartedInAReleaseDiesWhenItIsPruned(t *testing.T) {
	RequireGunicorn(t)
	t.Parallel()
	ctx := context.Background()
	repo, err := demoapp.Create(ctx, filepath.Join(t.TempDir(), "shop"))
	if err != nil {
		t.Fatal(err)
	}
	f := sshtest.Start(t, 1)
	c, err := ssh.Dial("tcp", f.Hosts[0].Address(), f.ClientConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	w := &webHost{h: f.Hosts[0], c: c, app: freeAddr(t, f.Hosts[0].Addr)}
	w.deployTo = w.must(t, `echo "$HOME"`) + "/srv/started-in-release"
	if !f.Isolated {
		t.Cleanup(func() { _, _ = w.run(`kill -TERM $(cat `+shellQuote(w.deployTo+"/shared/gunicorn.pid")+`)`, nil) })
	}
	const id1, id2 = "20260105090000", "20260105100000"
	for _, r := range []struct{ id, subject string }{{id1, demoapp.CommitInitial}, {id2, demoapp.CommitGreeting}} {
		tarball, err := repo.Archive(ctx, repo.Hash(r.subject))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.run(env("D", w.deployTo, "ID", r.id, "COMMIT", repo.Hash(r.subject))+releaseScript, tarball); err != nil {
			t.Fatal(err)
		}
	}
	w.must(t, env("D", w.deployTo, "ID", id1)+switchScript)
	// As a program that resolved the path would: cwd is releases/<id1>.
	w.must(t, env("D", w.deployTo, "BIND", w.app)+strings.Replace(startScript, `cd "$D"`, `cd "$D/releases/`+id1+`"`, 1))
	client := &http.Client{Timeout: 10 * time.Second}
	waitRelease(t, client, w.app, id1, 15*time.Second)
	pid := w.must(t, "cat "+shellQuote(w.deployTo+"/shared/gunicorn.pid"))

	w.must(t, env("D", w.deployTo, "ID", id2)+switchScript)
	_, old := w.reload(t)
	w.waitReloaded(t, pid, old)
	waitRelease(t, client, w.app, id2, 15*time.Second)
	if inUse, err := ReleasesInUse(w.runner(), w.deployTo); err != nil || !slices.Equal(inUse, []string{id2}) {
		// Nothing shows that the master still depends on release 1.
		t.Errorf("releases in use: %v, %v", inUse, err)
	}
	w.must(t, "rm -rf "+shellQuote(w.deployTo+"/releases/"+id1))
	w.must(t, "kill -HUP "+pid)
	deadline := time.Now().Add(5 * time.Second)
	for w.must(t, "kill -0 "+pid+" 2>/dev/null && echo alive || echo dead") == "alive" {
		if time.Now().After(deadline) {
			t.Fatalf("master %s started in a pruned release survived a HUP (gunicorn changed?)", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("master started in releases/%s died on the HUP after it was pruned; log:\n%s", id1,
		w.must(t, "tail -n 3 "+shellQuote(w.deployTo+"/shared/logs/gunicorn.log")))
}
