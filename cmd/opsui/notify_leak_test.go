package main

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/testenv"
)

// TestDeployNotifyFailureShowsNoWebhookSecret deploys to a real host with
// a Slack webhook whose token is in its path and that cannot be reached:
// the failure is reported, on the terminal and in the store's records of
// the run, by the webhook's scheme and host alone.
func TestDeployNotifyFailureShowsNoWebhookSecret(t *testing.T) {
	port, err := testenv.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	hostPort := fmt.Sprintf("127.0.0.1:%d", port) // nothing listens: connection refused
	hook := "http://" + hostPort + "/services/T0SECRET1/B0SECRET2/xoxbSECRETTOKEN?token=q5ecret"
	e := newDeployEnv(t, 1, "", "notify:", "  - url: "+hook, "    format: slack")

	out, err := opsuiCmd(t, e.db, "", "deploy", "--env", "test", "--ref", "main", "--yes")
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	if !strings.Contains(out, "http://"+hostPort) || !strings.Contains(out, "connection refused") {
		t.Fatalf("the failed notification is not reported by scheme and host:\n%s", out)
	}
	// Every record of runs and releases (the fleet's own tables hold the
	// webhook as configured, which is the fleet file's data).
	dump, err := exec.Command("sqlite3", e.db, ".dump runs releases run_hosts run_output locks").CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3: %v\n%s", err, dump)
	}
	if !strings.Contains(string(dump), "connection refused") {
		t.Errorf("the run's records do not hold the notification's failure:\n%s", dump)
	}
	for _, sec := range []string{"T0SECRET1", "B0SECRET2", "xoxbSECRETTOKEN", "q5ecret", "/services"} {
		if strings.Contains(out, sec) {
			t.Errorf("the terminal shows %q:\n%s", sec, out)
		}
		if strings.Contains(string(dump), sec) {
			t.Errorf("the store's records hold %q", sec)
		}
	}
}
