package ops

import (
	"context"
	"fmt"
	"strings"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// appExecScript runs an exec command as the app's own processes run: in
// the app's current release, with shared/.env loaded. The host's
// deploy_to comes on standard input (it may differ per host, and one Run
// carries one command line); the environment is read by the remote shell
// from the file, so no value of it is ever on a command line, here or in
// the host's ps. %s are the app's name, whether .env is required (1) and
// the command.
const appExecScript = `_opsui_app=%[1]s _opsui_req=%[2]s
IFS= read -r _opsui_d || { echo "opsui: no deploy_to on standard input" >&2; exit 2; }
cd "$_opsui_d/current" 2>/dev/null || { echo "opsui: $_opsui_app has no current release on this host ($_opsui_d/current)" >&2; exit 1; }
if [ -f "$_opsui_d/shared/.env" ]; then
  set -a; . "$_opsui_d/shared/.env" || { echo "opsui: cannot load $_opsui_d/shared/.env" >&2; exit 1; }; set +a
elif [ "$_opsui_req" = 1 ]; then
  echo "opsui: $_opsui_d/shared/.env is missing: deploy $_opsui_app to this host first" >&2; exit 1
fi
unset _opsui_d _opsui_app _opsui_req
%[3]s`

// appExec turns req's command into one run in app's context on each host
// (appExecScript), with each host's deploy_to fed on its standard input.
func appExec(app inventory.App, hosts []inventory.Host, command string, opts remote.RunOptions) (string, remote.RunOptions) {
	deployTo := make(map[string]string, len(hosts))
	for _, h := range hosts {
		deployTo[h.Name] = strings.TrimRight(app.DeployToOn(h), "/")
	}
	opts.Stdin = func(t remote.Target) (remote.Input, error) {
		d, ok := deployTo[t.Name]
		if !ok {
			return remote.Input{}, fmt.Errorf("host %s is not in the request", t.Name)
		}
		return remote.Input{R: strings.NewReader(d + "\n"), Size: int64(len(d) + 1)}, nil
	}
	required := "0"
	if app.HasEnv() {
		required = "1"
	}
	return fmt.Sprintf(appExecScript, remote.Quote(app.Name), required, command), opts
}

// execApp resolves req.App in the inventory: "" is no app.
func (s *Service) execApp(ctx context.Context, name string) (*inventory.App, error) {
	if name == "" {
		return nil, nil
	}
	f, err := s.Store.LoadFleet(ctx)
	if err != nil {
		return nil, err
	}
	app, ok := f.App(name)
	if !ok {
		return nil, &UnknownNameError{Kind: "app", Name: name, Known: AppNames(f)}
	}
	return &app, nil
}

// soleEnv is the environment of every host of hosts, "" when they are in
// several: an app's exec run records it, as a deploy does.
func soleEnv(hosts []inventory.Host) string {
	env := ""
	for i, h := range hosts {
		if i > 0 && h.Env != env {
			return ""
		}
		env = h.Env
	}
	return env
}
