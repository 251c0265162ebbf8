package ops

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/remotetest"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// TestCopyPutsAFileAtomically: cp writes the file on every host with the
// local file's mode (or the one asked for), replaces an existing file,
// records the run, fails
// a host whose directory is missing without leaving a part behind, and
// refuses a bad request before recording anything.
func TestCopyPutsAFileAtomically(t *testing.T) {
	t.Parallel()
	e := remotetest.Start(t, 2)
	if !e.Fleet.Isolated {
		t.Skip("cp tests need isolated hosts (each its own home): run as root")
	}
	svc, hosts := serviceFor(t, e)
	ctx := context.Background()
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "app.conf")
	if err := os.WriteFile(local, []byte("workers = 4\nsecretless = yes\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	dst := home + "/etc-app.conf"
	sh := func(cmd string) map[string]string {
		t.Helper()
		log := remotetest.NewLog()
		if _, _, err := svc.Exec(ctx, ExecRequest{Hosts: hosts, Command: cmd}, log.Emit); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, h := range hosts {
			out[h.Name] = log.Text(h.Name, remote.EventStdout)
		}
		return out
	}
	sh("printf 'old\\n' > " + remote.Quote(dst) + " && chmod 644 " + remote.Quote(dst))

	res, rec, err := svc.Copy(ctx, CopyRequest{Hosts: hosts, Local: local, Remote: dst}, nil)
	if err != nil || res.OK != 2 {
		t.Fatalf("Copy: %+v, %v", res, err)
	}
	for name, out := range sh("stat -c %a " + remote.Quote(dst) + "; cat " + remote.Quote(dst) + "; ls -a " + remote.Quote(home) + " | grep -c opsui-cp; true") {
		if out != "640\nworkers = 4\nsecretless = yes\n0\n" {
			t.Errorf("%s: after cp: %q", name, out)
		}
	}
	run, err := svc.Store.Run(ctx, rec.RunID())
	if err != nil || run.Kind != store.KindExec || !strings.HasPrefix(run.Command, "cp ") || run.Result != store.RunOK {
		t.Errorf("recorded run %+v, %v", run, err)
	}

	res, _, err = svc.Copy(ctx, CopyRequest{Hosts: hosts, Local: local, Remote: dst, Mode: 0o600}, nil)
	if err != nil || res.OK != 2 {
		t.Fatalf("Copy with a mode: %+v, %v", res, err)
	}
	for name, out := range sh("stat -c %a " + remote.Quote(dst)) {
		if out != "600\n" {
			t.Errorf("%s: mode %q, want 600", name, out)
		}
	}

	res, _, err = svc.Copy(ctx, CopyRequest{Hosts: hosts, Local: local, Remote: home + "/no/such/dir/app.conf"}, nil)
	if err != nil || res.OK != 0 || res.Failed != 2 {
		t.Errorf("Copy into a missing directory: %+v, %v", res, err)
	}

	runs, _ := svc.Store.ListRuns(ctx, store.RunFilter{})
	for _, bad := range []CopyRequest{
		{Hosts: hosts, Local: local, Remote: "etc/app.conf"},
		{Hosts: hosts, Local: local, Remote: home + "/"},
		{Hosts: hosts, Local: local, Remote: home + "/../x"},
		{Hosts: hosts, Local: filepath.Join(t.TempDir(), "missing"), Remote: dst},
		{Hosts: hosts, Local: t.TempDir(), Remote: dst},
	} {
		var ie *InvalidError
		if _, _, err := svc.Copy(ctx, bad, nil); !errors.As(err, &ie) {
			t.Errorf("Copy(%s -> %s): %v, want an InvalidError", bad.Local, bad.Remote, err)
		}
	}
	if after, _ := svc.Store.ListRuns(ctx, store.RunFilter{}); len(after) != len(runs) {
		t.Errorf("refused copies were recorded: %d runs, then %d", len(runs), len(after))
	}
}
