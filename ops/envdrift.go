package ops

import (
	"context"
	"fmt"
	"slices"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
)

// HostEnvDrift is how one host's shared/.env of one app, in one
// environment, differs from the fleet file: the keys that differ (by
// keyed hash: no value), or why the file could not be read.
type HostEnvDrift struct {
	App, Env string
	// Keys are "KEY state" (differs, missing, extra), sorted by key.
	Keys []string
	// Unreadable says why the host's shared/.env could not be read.
	Unreadable string
	// BadLines are lines of the file that are not KEY=value.
	BadLines []int
}

// String is the drift in a few words, for the console.
func (d HostEnvDrift) String() string {
	switch {
	case d.Unreadable != "":
		return d.App + ": .env unreadable: " + d.Unreadable
	case len(d.BadLines) > 0 && len(d.Keys) == 0:
		return fmt.Sprintf("%s: .env lines %v are not KEY=value", d.App, d.BadLines)
	}
	s := d.App + ":"
	for i, k := range d.Keys {
		if i > 0 {
			s += ","
		}
		s += " " + k
	}
	return s
}

// EnvDrift is the fleet's environment drift: per host, each app whose
// shared/.env there is not what the fleet file says.
type EnvDrift struct {
	Hosts map[string][]HostEnvDrift
	// Checked counts the hosts whose .env was compared (read or not).
	Checked int
}

// EnvDrift runs EnvDiff for every app and environment where opsui has
// rendered an environment (the store holds hashes of it), over fleet, and
// returns the hosts that differ. Keys a host has that opsui cannot
// compare (a secret never rendered there) are not drift. It reads each
// host over SSH: the console calls it in a tea.Cmd, never in Update.
func (s *Service) EnvDrift(ctx context.Context, fleet *inventory.Fleet) (EnvDrift, error) {
	out := EnvDrift{Hosts: map[string][]HostEnvDrift{}}
	for _, app := range fleet.Apps {
		if !app.HasEnv() {
			continue
		}
		for _, env := range fleet.Environments {
			recorded, err := s.Store.EnvHashes(ctx, app.Name, env.Name)
			if err != nil {
				return out, err
			}
			if len(recorded) == 0 {
				continue // never rendered there: nothing to drift from
			}
			tg := Target{Fleet: fleet, App: app, Env: env, Hosts: deploy.SelectHosts(fleet, env.Name, deploy.HostSelection{})}
			if len(tg.Hosts) == 0 {
				continue // the environment's hosts are gone since
			}
			diff, err := s.EnvDiff(ctx, tg)
			if err != nil {
				return out, fmt.Errorf("env drift of %s in %s: %w", app.Name, env.Name, err)
			}
			out.Checked += len(diff.Hosts)
			for _, h := range diff.Hosts {
				d := HostEnvDrift{App: app.Name, Env: env.Name, Unreadable: diff.Unreadable[h], BadLines: diff.BadLines[h]}
				for _, r := range diff.Rows {
					if st, ok := r.Hosts[h]; ok && st != EnvUnknown && st != EnvSame {
						d.Keys = append(d.Keys, r.Key+" "+string(st))
					}
				}
				if d.Unreadable != "" || len(d.BadLines) > 0 || len(d.Keys) > 0 {
					slices.Sort(d.Keys)
					out.Hosts[h] = append(out.Hosts[h], d)
				}
			}
		}
	}
	return out, nil
}
