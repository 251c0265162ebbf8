package ops

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/remotetest"
	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// setupEnv is a bare fleet for opsui setup: web hosts (the first ones)
// and one nginx balancer (the last), logging in as the ordinary deploy
// user, each web host with a supervisord of the deploy user's own running
// (as Debian's package would, with an include directory) and nothing else.
type setupEnv struct {
	*userEnv
	webs     int
	repo     *demoapp.Repo
	upstream string // the balancer's upstream file, as the hosts see it
}

// webHost is the roles and settings of a web host of newSetupEnv, whose
// supervisord's configuration is conf; more goes into the web role's
// settings.
func webHost(more string) func(h *sshtest.Host, conf string) string {
	return func(h *sshtest.Host, conf string) string {
		return fmt.Sprintf("    roles: [web]\n    settings:\n      web:\n        health_url: http://%s:8000/health/\n        process: supervisord\n%s        options: {bind: \"%s:8000\", workers: \"2\", wsgi: %q, supervisor_conf: %s}\n",
			h.Addr, more, h.Addr, demoapp.WSGIApp, conf)
	}
}

func newSetupEnv(t *testing.T, webs int, host func(h *sshtest.Host, conf string) string) *setupEnv {
	t.Helper()
	testenv.RequireFile(t, "/usr/bin/supervisord", "supervisor")
	repo, err := demoapp.Create(t.Context(), filepath.Join(t.TempDir(), "shop"))
	if err != nil {
		t.Fatal(err)
	}
	e := &setupEnv{userEnv: &userEnv{Env: remotetest.Start(t, webs+1, sshtest.WithDeployUser())}, webs: webs}
	e.deployTo = e.Fleet.LoginHome + "/srv/shop"
	e.upstream = e.Fleet.LoginHome + "/nginx/shop-upstream.conf"
	conf := e.Fleet.LoginHome + "/supervisor/supervisord.conf"
	var hosts strings.Builder
	for i, h := range e.Fleet.Hosts {
		fmt.Fprintf(&hosts, "  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: test\n    identity_file: %s\n",
			h.Name, h.Addr, h.Port, e.Fleet.User, e.Fleet.ClientKeyPath)
		if i == webs {
			fmt.Fprintf(&hosts, "    roles: [lb]\n    settings:\n      lb:\n        options: {preset: nginx, upstream_file: %s, reload: \"true\"}\n", e.upstream)
			continue
		}
		hosts.WriteString(host(h, conf))
	}
	doc := strings.Replace(fmt.Sprintf(strings.Replace(shopFleet, "REPO", repo.Dir, 1), e.Fleet.User, e.deployTo), "HOSTS\n", hosts.String(), 1)
	doc = strings.Replace(doc, "    shared: [logs/]\n", "    shared: [logs/, media/]\n", 1)
	f, err := inventory.DecodeYAML("fleet.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	st := openStore(t)
	if err := st.SaveFleet(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	e.svc = &Service{Store: st, Conn: e.Pool, Operator: "alice", Args: []string{"setup"}}
	e.repo = repo
	return e
}

// startSupervisord starts the deploy user's own supervisord on web host i.
func (e *setupEnv) startSupervisord(t *testing.T, i int) {
	t.Helper()
	out := e.sh(t, i, fmt.Sprintf(`set -e; mkdir -p "$HOME/supervisor/conf.d"; printf %%s %s > "$HOME/supervisor/supervisord.conf"
/usr/bin/supervisord -c "$HOME/supervisor/supervisord.conf" </dev/null >/dev/null 2>&1
for i in $(seq 100); do [ -S "$HOME/supervisor/supervisor.sock" ] && break; sleep 0.1; done
/usr/bin/supervisorctl -c "$HOME/supervisor/supervisord.conf" status; echo started`, remote.Quote(fmt.Sprintf(supervisordConf, e.Fleet.LoginHome))))
	if !strings.HasSuffix(out, "started") {
		t.Fatalf("supervisord on host %d: %s", i, out)
	}
}

func (e *setupEnv) setup(t *testing.T, dry, force bool) SetupReport {
	t.Helper()
	tg, err := e.svc.SetupTarget(t.Context(), Scope{App: "shop", Env: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.Hosts) != e.webs+1 {
		t.Fatalf("setup target: %d hosts, want the %d web hosts and the balancer", len(tg.Hosts), e.webs+1)
	}
	rep, err := e.svc.Setup(t.Context(), SetupRequest{Target: tg, DryRun: dry, Force: force}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// tree lists every file under the hosts' homes with its size, mode and
// content's length and modification time, leaving out supervisord's own
// log, pid and socket files, which it writes by itself.
func (e *setupEnv) tree(t *testing.T) string {
	t.Helper()
	var lines []string
	for _, h := range e.Fleet.Hosts {
		err := filepath.WalkDir(h.Home, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(h.Home, p)
			if strings.HasPrefix(rel, "supervisor/supervisor") {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			b, _ := os.ReadFile(p)
			lines = append(lines, fmt.Sprintf("%s:%s %v %d %q", h.Name, rel, info.Mode(), info.Size(), b))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func texts(items []deploy.SetupItem) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(it.Text + "\n")
		for _, c := range it.Commands {
			b.WriteString("  $ " + c + "\n")
		}
		for _, d := range it.Diff {
			b.WriteString("  | " + d + "\n")
		}
	}
	return b.String()
}

func dumpReport(rep SetupReport) string {
	var b strings.Builder
	for _, h := range rep.Hosts {
		fmt.Fprintf(&b, "%s (err %v)\n done:\n%s right:\n%s human:\n%s", h.Host, h.Err, texts(h.Done), texts(h.Right), texts(h.Human))
	}
	return b.String()
}

// TestSetupBareHostsThenDeploy: opsui setup takes bare hosts (a deploy
// user, a supervisord with an empty include directory, nothing of the
// app) to ready: a dry run first changes no file of any host and says what
// it would do; setup then creates deploy_to, its shared entries, the
// supervisord program (read by supervisord) and the balancer's upstream
// file; the first deploy of the Django preset succeeds and serves under
// supervisord; a second setup finds everything already right; a program
// edited by hand is reported with a diff and left alone, and replaced
// with --force.
func TestSetupBareHostsThenDeploy(t *testing.T) {
	webtest.RequireGunicorn(t)
	e := newSetupEnv(t, 2, webHost(""))
	for i := range e.webs {
		e.startSupervisord(t, i)
	}

	before := e.tree(t)
	dry := e.setup(t, true, false)
	if after := e.tree(t); after != before {
		t.Errorf("a dry run changed the hosts' files:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	for _, h := range dry.Hosts {
		if h.Err != nil || len(h.Human) != 0 || len(h.Done) == 0 {
			t.Fatalf("dry run:\n%s", dumpReport(dry))
		}
	}
	if !strings.Contains(texts(dry.Hosts[0].Done), "created deploy_to "+e.deployTo) ||
		!strings.Contains(texts(dry.Hosts[0].Done), "installed supervisord program shop-web") {
		t.Errorf("the dry run does not say what it would do:\n%s", dumpReport(dry))
	}

	first := e.setup(t, false, false)
	if !first.Ready() || first.RunID == 0 {
		t.Fatalf("setup of bare hosts is not ready (run %d):\n%s", first.RunID, dumpReport(first))
	}
	program := e.Fleet.LoginHome + "/supervisor/conf.d/shop-web.conf"
	for i, h := range first.Hosts[:e.webs] {
		done := texts(h.Done)
		for _, want := range []string{"created deploy_to " + e.deployTo, "created releases directory", "created shared entry media/:",
			"installed supervisord program shop-web as " + program, "supervisorctl -c "} {
			if !strings.Contains(done, want) {
				t.Errorf("%s: setup did not say %q:\n%s", h.Host, want, done)
			}
		}
		if got := e.sh(t, i, "/usr/bin/supervisorctl -c \"$HOME/supervisor/supervisord.conf\" status shop-web || true"); !strings.Contains(got, "shop-web") || strings.Contains(got, "no such process") {
			t.Errorf("%s: supervisord does not know the program setup installed: %s", h.Host, got)
		}
	}
	f, err := e.svc.Store.LoadFleet(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	lbName := e.Fleet.Hosts[e.webs].Name
	lbHost, _ := f.Host(lbName)
	wantUp := deploy.UpstreamFile(f, f.Apps[0], lbHost)
	if got := e.sh(t, e.webs, "cat "+remote.Quote(e.upstream)); got+"\n" != wantUp {
		t.Errorf("the balancer's upstream file is\n%s\nwant\n%s", got, wantUp)
	}
	for _, a := range []string{e.Fleet.Hosts[0].Addr + ":8000", e.Fleet.Hosts[1].Addr + ":8000"} {
		if !strings.Contains(wantUp, "server "+a+" max_fails=0;") {
			t.Errorf("the upstream file misses backend %s:\n%s", a, wantUp)
		}
	}
	run, err := e.svc.Store.Run(t.Context(), first.RunID)
	if err != nil || run.Kind != store.KindSetup || run.Command != "setup" {
		t.Errorf("setup's record: %+v %v", run, err)
	}
	rows, err := e.svc.Store.RunHosts(t.Context(), first.RunID)
	if err != nil || len(rows) != e.webs+1 {
		t.Fatalf("setup's hosts: %+v %v", rows, err)
	}
	if out := stdoutOf(t, e.svc.Store, rows[0]); !strings.Contains(out, "done: created deploy_to "+e.deployTo) {
		t.Errorf("the record does not say what setup did, in its words:\n%s", out)
	}

	out := e.deploy(t, e.repo.Hash(demoapp.CommitAddOrder), deploy.Strategy{Kind: deploy.StrategyAll, AutoRollback: true})
	if out.Result != store.ReleaseSuccess {
		t.Fatalf("first deploy after setup: %s%s", out.Result, failures(out))
	}
	for i, h := range e.Fleet.Hosts[:e.webs] {
		var body string
		testenv.WaitFor(t, 30*time.Second, h.Name+" serving the first release", func() bool {
			body = e.sh(t, i, "curl -s http://"+h.Addr+":8000/health/ || true")
			return strings.Contains(body, "release="+out.ReleaseID)
		})
	}

	// The balancer's upstream file, as setup wrote it, serves the release
	// through a real nginx.
	site := startNginxOn(t, filepath.Join(e.Fleet.Hosts[e.webs].Home, "nginx", "shop-upstream.conf"), "shop")
	testenv.WaitFor(t, 30*time.Second, "nginx serving the first release through setup's upstream file", func() bool {
		return strings.Contains(get(site+"/health/"), "release="+out.ReleaseID)
	})

	again := e.setup(t, false, false)
	for _, h := range again.Hosts {
		if h.Err != nil || len(h.Done) != 0 || len(h.Human) != 0 || len(h.Right) == 0 {
			t.Errorf("a second setup is not all already right:\n%s", dumpReport(again))
			break
		}
	}
	if !strings.Contains(texts(again.Hosts[0].Right), "supervisord has program shop-web: shop-web RUNNING") {
		t.Errorf("second setup does not see the program running:\n%s", texts(again.Hosts[0].Right))
	}

	// A program edited by hand is reported and left alone.
	edited := e.sh(t, 0, "sed -i 's/^startretries=3$/startretries=9/' "+remote.Quote(program)+" && cat "+remote.Quote(program))
	hand := e.setup(t, false, false)
	h0 := hand.Hosts[0]
	if hand.Ready() || len(h0.Human) != 1 || !strings.Contains(h0.Human[0].Text, "supervisord program shop-web "+program+" differs from what opsui renders: left alone") ||
		!strings.Contains(strings.Join(h0.Human[0].Diff, "\n"), "-startretries=9\n+startretries=3") {
		t.Fatalf("a program edited by hand:\n%s", dumpReport(hand))
	}
	if got := e.sh(t, 0, "cat "+remote.Quote(program)); got != edited {
		t.Errorf("setup without --force changed the edited program:\n%s", got)
	}
	forced := e.setup(t, false, true)
	if !forced.Ready() || !strings.Contains(texts(forced.Hosts[0].Done), "replaced "+program) {
		t.Fatalf("setup --force:\n%s", dumpReport(forced))
	}
	if got := e.sh(t, 0, "cat "+remote.Quote(program)); strings.Contains(got, "startretries=9") {
		t.Errorf("--force left the edited program:\n%s", got)
	}
}

// TestSetupNamesAMissingSudoRight: a role that reloads through sudo on a
// host whose deploy user has no sudoers line gets, at once (sudo -n never
// waits for a password), each missing right named with the exact sudoers
// line that grants it.
func TestSetupNamesAMissingSudoRight(t *testing.T) {
	testenv.RequireFile(t, "/usr/bin/sudo", "sudo")
	e := newSetupEnv(t, 1, webHost("        sudo: true\n"))
	f, err := e.svc.Store.LoadFleet(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rules, _, err := f.SudoRules("shop", "test")
	if err != nil || len(rules) == 0 {
		t.Fatalf("sudo rules: %v %v", rules, err)
	}
	rep := e.setup(t, false, false)
	h := rep.Hosts[0]
	human := texts(h.Human)
	for _, r := range rules {
		if !strings.Contains(human, "allow it with this sudoers line: "+r.Line()) {
			t.Errorf("the missing right %q is not named:\n%s", r.Line(), human)
		}
	}
	if !strings.Contains(human, "  $ sudo visudo -f /etc/sudoers.d/opsui-shop") || rep.Ready() {
		t.Errorf("report:\n%s", dumpReport(rep))
	}
}

// TestSetupWorkerAndSystemdUnit: a host whose web role runs under systemd
// and whose worker role runs under supervisord. The worker's program is
// installed in supervisord's include directory and read by it. The
// deploy user may not write /etc/systemd/system: the unit is staged in
// ~/.opsui-setup, exactly as opsui renders it, with the commands that
// install it, and nothing is written there; once a sudoers line allows
// exactly that install, setup installs it through sudo -n and names the
// systemctl rights still missing; the next setup finds the unit right.
func TestSetupWorkerAndSystemdUnit(t *testing.T) {
	testenv.RequireFile(t, "/usr/bin/sudo", "sudo")
	unit := fmt.Sprintf("opsui-setup-test-%d.service", os.Getpid())
	dest := "/etc/systemd/system/" + unit
	t.Cleanup(func() { os.Remove(dest) })
	e := newSetupEnv(t, 1, func(h *sshtest.Host, conf string) string {
		return fmt.Sprintf("    roles: [web, worker]\n    settings:\n      web:\n        process: systemd\n        options: {bind: \"%s:8000\", wsgi: %q, unit: %s}\n"+
			"      worker:\n        process: supervisord\n        options: {command: \"/bin/sleep 86400\", supervisor_conf: %s}\n", h.Addr, demoapp.WSGIApp, unit, conf)
	})
	e.startSupervisord(t, 0)
	staged := e.Fleet.LoginHome + "/.opsui-setup/" + unit

	rep := e.setup(t, false, false)
	h := rep.Hosts[0]
	done, human := texts(h.Done), texts(h.Human)
	worker := e.Fleet.LoginHome + "/supervisor/conf.d/shop-worker.conf"
	if !strings.Contains(done, "installed supervisord program shop-worker as "+worker) || !strings.Contains(done, "update: shop-worker: added process group") {
		t.Errorf("the worker's program:\n%s", dumpReport(rep))
	}
	want := "opsuitest may not write " + dest + " (systemd unit " + unit + "): install it from " + staged + " (written by opsui setup)\n" +
		"  $ sudo install -m 0644 " + staged + " " + dest + "\n  $ sudo /usr/bin/systemctl daemon-reload\n  $ sudo /usr/bin/systemctl enable " + unit + "\n"
	if !strings.Contains(human, want) {
		t.Errorf("the unit the deploy user cannot install: want\n%s\nin:\n%s", want, dumpReport(rep))
	}
	f, err := e.svc.Store.LoadFleet(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	host, _ := f.Host(e.Fleet.Hosts[0].Name)
	rendered, err := deploy.SystemdUnit(f, f.Apps[0], host, e.Fleet.User)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(e.Fleet.Hosts[0].Home, ".opsui-setup", unit)); err != nil || string(b) != rendered {
		t.Errorf("the staged unit (%v):\n%s\nwant:\n%s", err, b, rendered)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Fatalf("setup wrote %s without a sudo right: %v", dest, err)
	}

	sshtest.Sudoers(t, e.Fleet.User+" ALL=(root) NOPASSWD: /usr/bin/install -m 0644 "+staged+" "+dest)
	rep = e.setup(t, false, false)
	h = rep.Hosts[0]
	if !strings.Contains(texts(h.Done), "installed systemd unit "+unit+" as "+dest+" (sudo install)") ||
		!strings.Contains(texts(h.Human), "systemd must read unit "+unit+": opsuitest may not run systemctl daemon-reload\n  $ sudo /usr/bin/systemctl daemon-reload\n") ||
		!strings.Contains(texts(h.Right), "supervisord has program shop-worker") {
		t.Errorf("setup with the install right:\n%s", dumpReport(rep))
	}
	if b, err := os.ReadFile(dest); err != nil || string(b) != rendered {
		t.Errorf("the installed unit (%v):\n%s", err, b)
	}
	rep = e.setup(t, false, false)
	if right := texts(rep.Hosts[0].Right); !strings.Contains(right, "systemd unit "+unit+" "+dest+" is what opsui renders") {
		t.Errorf("the installed unit is not already right:\n%s", dumpReport(rep))
	}
}
