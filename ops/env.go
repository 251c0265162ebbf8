package ops

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
)

// EnvLevel is where a key of a host's environment is declared: the most
// specific wins (inventory.App.EnvFor).
type EnvLevel string

// Levels of an app's environment.
const (
	EnvFromApp         EnvLevel = "app"         // apps[].env
	EnvFromEnvironment EnvLevel = "environment" // apps[].env_per_environment
	EnvFromHost        EnvLevel = "host"        // apps[].env_per_host
)

// EnvEntry is one key of a host's environment as the fleet file declares
// it. Value is the plain value, or ‹secret NAME› for a secret: EnvShow
// never resolves one.
type EnvEntry struct {
	Key    string
	Value  string
	Secret string // the secret's name; "" for a plain value
	From   EnvLevel
}

// HostEnv is the declared environment of one host.
type HostEnv struct {
	Host    string
	Entries []EnvEntry
}

// EnvShow returns the environment the fleet file gives the target's app
// on each of the target's hosts, secrets masked. It reads no host.
func (s *Service) EnvShow(ctx context.Context, tg Target) ([]HostEnv, error) {
	if !tg.App.HasEnv() {
		return nil, &InvalidError{fmt.Errorf("app %s declares no environment (env: in the fleet file)", tg.App.Name)}
	}
	out := make([]HostEnv, 0, len(tg.Hosts))
	for _, h := range tg.Hosts {
		env := tg.App.EnvFor(h)
		he := HostEnv{Host: h.Name}
		for _, k := range inventory.EnvKeys(env) {
			v := env[k]
			from := EnvFromApp
			if _, ok := tg.App.EnvPerHost[h.Name][k]; ok {
				from = EnvFromHost
			} else if _, ok := tg.App.EnvPerEnvironment[h.Env][k]; ok {
				from = EnvFromEnvironment
			}
			he.Entries = append(he.Entries, EnvEntry{Key: k, Value: v.String(), Secret: v.Secret, From: from})
		}
		out = append(out, he)
	}
	return out, nil
}

// EnvState is how a key of one host's shared/.env compares.
type EnvState string

// States of a key in an env diff.
const (
	EnvSame    EnvState = "same"    // the host has the fleet file's value
	EnvDiffers EnvState = "differs" // the host's value is not the fleet file's
	EnvMissing EnvState = "missing" // the fleet file declares it, the host lacks it
	EnvExtra   EnvState = "extra"   // the host has it, the fleet file does not declare it
	// EnvUnknown: a secret never rendered to this host by opsui, so no
	// hash to compare with (deploy once to record it).
	EnvUnknown EnvState = "unknown"
)

// EnvDiffRow is one key that is not the same everywhere: its state on
// each host, and whether the hosts' values differ among themselves.
type EnvDiffRow struct {
	Key      string
	Hosts    map[string]EnvState
	Disagree bool // the hosts read do not all have it, with the same value
}

// EnvDiffResult compares the shared/.env of each host with the fleet
// file and with the other hosts, by keyed hash: no value is printed.
type EnvDiffResult struct {
	Hosts []string // the hosts read
	Rows  []EnvDiffRow
	// Unreadable holds the hosts whose shared/.env could not be read, and why.
	Unreadable map[string]string
	// BadLines are lines of a host's .env that are not KEY=value.
	BadLines map[string][]int
}

// Clean reports whether every host read matches the fleet file.
func (r EnvDiffResult) Clean() bool {
	if len(r.Rows) > 0 || len(r.Unreadable) > 0 || len(r.BadLines) > 0 {
		return false
	}
	return true
}

// envReadScript prints the host's shared/.env. Its content comes back to
// the operator's memory only, to be hashed: EnvDiff neither records nor
// emits it.
const envReadScript = `f=$DEPLOY_TO/shared/.env
if [ ! -e "$f" ]; then echo "no $f: the app was not deployed with its environment yet" >&2; exit 3; fi
cat -- "$f"
`

// EnvDiff reads every target host's shared/.env over SSH and compares it,
// value by value through the store's keyed hash, with the fleet file
// (plain values hashed as they are declared, secrets with the hash opsui
// recorded when it last rendered them there: they are not resolved) and
// across hosts.
func (s *Service) EnvDiff(ctx context.Context, tg Target) (EnvDiffResult, error) {
	if !tg.App.HasEnv() {
		return EnvDiffResult{}, &InvalidError{fmt.Errorf("app %s declares no environment (env: in the fleet file)", tg.App.Name)}
	}
	key, err := s.Store.EnvHashKey(ctx)
	if err != nil {
		return EnvDiffResult{}, err
	}
	recorded, err := s.Store.EnvHashes(ctx, tg.App.Name, tg.Env.Name)
	if err != nil {
		return EnvDiffResult{}, err
	}
	rendered := map[string]map[string]string{} // host -> key -> hash
	for _, h := range recorded {
		if rendered[h.Host] == nil {
			rendered[h.Host] = map[string]string{}
		}
		rendered[h.Host][h.Name] = h.Hash
	}
	targets, err := s.Targets(tg.Hosts)
	if err != nil {
		return EnvDiffResult{}, err
	}
	res := EnvDiffResult{Unreadable: map[string]string{}, BadLines: map[string][]int{}}
	have := map[string]map[string]string{} // host -> key -> hash of what it has
	for i, h := range tg.Hosts {
		res.Hosts = append(res.Hosts, h.Name)
		content, err := s.readEnvFile(ctx, targets[i], tg.App.DeployToOn(h))
		if err != nil {
			res.Unreadable[h.Name] = err.Error()
			continue
		}
		env, bad := deploy.ParseEnvFile(content)
		if len(bad) > 0 {
			res.BadLines[h.Name] = bad
		}
		have[h.Name] = map[string]string{}
		for k, v := range env {
			have[h.Name][k] = deploy.HashEnvValue(key, k, v)
		}
	}
	rows := map[string]*EnvDiffRow{}
	row := func(k string) *EnvDiffRow {
		if rows[k] == nil {
			rows[k] = &EnvDiffRow{Key: k, Hosts: map[string]EnvState{}}
		}
		return rows[k]
	}
	allKeys := map[string]bool{}
	for _, h := range tg.Hosts {
		got, ok := have[h.Name]
		if !ok {
			continue
		}
		want := tg.App.EnvFor(h)
		for k, v := range want {
			allKeys[k] = true
			hash, present := got[k]
			switch {
			case !present:
				row(k).Hosts[h.Name] = EnvMissing
			case v.IsSecret() && rendered[h.Name][k] == "":
				row(k).Hosts[h.Name] = EnvUnknown
			case v.IsSecret() && hash != rendered[h.Name][k],
				!v.IsSecret() && hash != deploy.HashEnvValue(key, k, v.Value):
				row(k).Hosts[h.Name] = EnvDiffers
			}
		}
		for k := range got {
			allKeys[k] = true
			if _, ok := want[k]; !ok {
				row(k).Hosts[h.Name] = EnvExtra
			}
		}
	}
	for k := range allKeys {
		seen := map[string]bool{}
		for _, h := range res.Hosts {
			if got, read := have[h]; read {
				seen[got[k]] = true // "" where the host lacks it
			}
		}
		if len(seen) > 1 {
			row(k).Disagree = true
		}
	}
	for _, k := range inventory.EnvKeys(rows) {
		r := rows[k]
		// Hosts given different values (env_per_host...) disagree by
		// design: a disagreement is news when the fleet file gives them
		// all the same (a secret rotated on some hosts only).
		if len(r.Hosts) > 0 || r.Disagree && s.sameDeclared(tg, k) {
			res.Rows = append(res.Rows, *r)
		}
	}
	return res, nil
}

// sameDeclared reports whether the fleet file gives key k the same
// value (or secret) on every target host.
func (s *Service) sameDeclared(tg Target, k string) bool {
	var first *inventory.EnvValue
	for _, h := range tg.Hosts {
		v := tg.App.EnvFor(h)[k]
		if first == nil {
			first = &v
		} else if v != *first {
			return false
		}
	}
	return true
}

// readEnvFile returns the content of a host's shared/.env.
func (s *Service) readEnvFile(ctx context.Context, t remote.Target, deployTo string) (string, error) {
	var out, errs strings.Builder
	r, err := remote.Run(ctx, s.Conn, []remote.Target{t}, envReadScript,
		remote.RunOptions{Env: map[string]string{"DEPLOY_TO": strings.TrimRight(deployTo, "/")}, Timeout: 30 * time.Second},
		func(ev remote.Event) {
			switch ev.Kind {
			case remote.EventStdout:
				out.WriteString(ev.Line + "\n")
			case remote.EventStderr:
				errs.WriteString(ev.Line + " ")
			}
		})
	if err != nil {
		return "", err
	}
	if hr := r.Hosts[0]; hr.Status != remote.StatusOK {
		if msg := strings.TrimSpace(errs.String()); msg != "" {
			return "", fmt.Errorf("%s", msg)
		}
		return "", fmt.Errorf("reading shared/.env: %v", hr.Err)
	}
	return out.String(), nil
}

// States returns the row's hosts and states as "host: state", sorted.
func (r EnvDiffRow) States() []string {
	var out []string
	for _, h := range inventory.EnvKeys(r.Hosts) {
		out = append(out, h+": "+string(r.Hosts[h]))
	}
	slices.Sort(out)
	return out
}
