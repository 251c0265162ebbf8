package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/opsui/opsui/inventory"
)

type envRow struct {
	ID        int64  `db:"id"`
	Name      string `db:"name"`
	Protected bool   `db:"protected"`
	Strategy  string `db:"strategy"`
	BatchSize int    `db:"batch_size"`
}

type appRow struct {
	Name         string `db:"name"`
	Repo         string `db:"repo"`
	DeployTo     string `db:"deploy_to"`
	KeepReleases int    `db:"keep_releases"`
	Preset       string `db:"preset"`
	Config       string `db:"config"`
}

// appConfig is the part of an app kept as JSON: lists and nested values that
// no query looks into.
type appConfig struct {
	Shared      []string               `json:"shared,omitempty"`
	Stages      []inventory.Stage      `json:"stages,omitempty"`
	Migrate     string                 `json:"migrate,omitempty"`
	MigratePlan string                 `json:"migrate_plan,omitempty"`
	Health      *inventory.HealthCheck `json:"health,omitempty"`
	Notify      []inventory.Webhook    `json:"notify,omitempty"`
	// StrictRequirements fails a build whose requirements are not met.
	StrictRequirements bool `json:"strict_requirements,omitempty"`
	// Static is where the django preset's collectstatic runs.
	Static string `json:"static,omitempty"`
	// The app's environment: plain values and secret references (never
	// a secret's value) and where each secret is read from.
	Env               map[string]inventory.EnvValue            `json:"env,omitempty"`
	EnvPerEnvironment map[string]map[string]inventory.EnvValue `json:"env_per_environment,omitempty"`
	EnvPerHost        map[string]map[string]inventory.EnvValue `json:"env_per_host,omitempty"`
	Secrets           map[string]inventory.SecretSource        `json:"secrets,omitempty"`
	Watch             *inventory.Watch                         `json:"watch,omitempty"`
	Build             *inventory.Build                         `json:"build,omitempty"`
}

type hostRow struct {
	ID           int64  `db:"id"`
	Name         string `db:"name"`
	Address      string `db:"address"`
	Port         int    `db:"port"`
	User         string `db:"user"`
	Env          string `db:"env"`
	DeployTo     string `db:"deploy_to"`
	IdentityFile string `db:"identity_file"`
	ProxyJump    string `db:"proxy_jump"`
	ForwardAgent bool   `db:"forward_agent"`
	Settings     string `db:"settings"`
}

// LoadFleet reads the whole inventory.
func (s *Store) LoadFleet(ctx context.Context) (*inventory.Fleet, error) {
	return s.loadFleet(ctx, s.db)
}

func (s *Store) loadFleet(ctx context.Context, q sqlx.QueryerContext) (*inventory.Fleet, error) {
	var f inventory.Fleet
	var envs []envRow
	if err := s.sel(ctx, q, &envs, `SELECT id, name, protected, strategy, batch_size FROM environments ORDER BY position, id`); err != nil {
		return nil, fmt.Errorf("load environments: %w", err)
	}
	for _, e := range envs {
		f.Environments = append(f.Environments, inventory.Environment{Name: e.Name, Protected: e.Protected, Strategy: e.Strategy, BatchSize: e.BatchSize})
	}

	var roles []struct {
		Role     string `db:"role"`
		Settings string `db:"settings"`
	}
	if err := s.sel(ctx, q, &roles, `SELECT role, settings FROM role_defaults ORDER BY role`); err != nil {
		return nil, fmt.Errorf("load role settings: %w", err)
	}
	for _, r := range roles {
		var rs inventory.RoleSettings
		if err := json.Unmarshal([]byte(r.Settings), &rs); err != nil {
			return nil, fmt.Errorf("load settings of role %s: %w", r.Role, err)
		}
		if f.Roles == nil {
			f.Roles = map[string]inventory.RoleSettings{}
		}
		f.Roles[r.Role] = rs
	}

	var apps []appRow
	if err := s.sel(ctx, q, &apps, `SELECT name, repo, deploy_to, keep_releases, preset, config FROM apps ORDER BY position, id`); err != nil {
		return nil, fmt.Errorf("load apps: %w", err)
	}
	for _, a := range apps {
		var c appConfig
		if err := json.Unmarshal([]byte(a.Config), &c); err != nil {
			return nil, fmt.Errorf("load app %s: %w", a.Name, err)
		}
		f.Apps = append(f.Apps, inventory.App{
			Name: a.Name, Repo: a.Repo, DeployTo: a.DeployTo, KeepReleases: a.KeepReleases, Preset: a.Preset,
			Shared: c.Shared, Stages: c.Stages, Migrate: c.Migrate, MigratePlan: c.MigratePlan, Health: c.Health,
			Env: c.Env, EnvPerEnvironment: c.EnvPerEnvironment, EnvPerHost: c.EnvPerHost, Secrets: c.Secrets,
			Notify: c.Notify, StrictRequirements: c.StrictRequirements, Watch: c.Watch, Static: c.Static, Build: c.Build,
		})
	}

	hosts, err := s.loadHosts(ctx, q)
	if err != nil {
		return nil, err
	}
	f.Hosts = hosts
	if err := s.loadFleetFreezes(ctx, q, &f); err != nil {
		return nil, err
	}
	if err := s.loadRunbooks(ctx, q, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

func (s *Store) loadHosts(ctx context.Context, q sqlx.QueryerContext) ([]inventory.Host, error) {
	var rows []hostRow
	err := s.sel(ctx, q, &rows, `
		SELECT h.id, h.name, h.address, h.port, h."user", COALESCE(e.name, '') AS env, h.deploy_to,
		       h.identity_file, h.proxy_jump, h.forward_agent, h.settings
		FROM hosts h LEFT JOIN environments e ON e.id = h.env_id
		ORDER BY h.position, h.id`)
	if err != nil {
		return nil, fmt.Errorf("load hosts: %w", err)
	}
	roles, err := s.hostLists(ctx, q, "host_roles", "role")
	if err != nil {
		return nil, err
	}
	tags, err := s.hostLists(ctx, q, "host_tags", "tag")
	if err != nil {
		return nil, err
	}
	hosts := make([]inventory.Host, 0, len(rows))
	for _, r := range rows {
		h := inventory.Host{
			Name: r.Name, Address: r.Address, Port: r.Port, User: r.User, Env: r.Env,
			Roles: roles[r.ID], Tags: tags[r.ID], DeployTo: r.DeployTo,
			IdentityFile: r.IdentityFile, ProxyJump: r.ProxyJump, ForwardAgent: r.ForwardAgent,
		}
		if r.Settings != "{}" { // leave Settings nil, as the fleet file had it
			if err := json.Unmarshal([]byte(r.Settings), &h.Settings); err != nil {
				return nil, fmt.Errorf("load settings of host %s: %w", r.Name, err)
			}
		}
		hosts = append(hosts, h)
	}
	return hosts, nil
}

// hostLists reads host_roles or host_tags into lists keyed by host id.
func (s *Store) hostLists(ctx context.Context, q sqlx.QueryerContext, table, column string) (map[int64][]string, error) {
	var rows []struct {
		HostID int64  `db:"host_id"`
		Value  string `db:"value"`
	}
	query := fmt.Sprintf(`SELECT host_id, %s AS value FROM %s ORDER BY host_id, position`, column, table)
	if err := s.sel(ctx, q, &rows, query); err != nil {
		return nil, fmt.Errorf("load %s: %w", table, err)
	}
	out := map[int64][]string{}
	for _, r := range rows {
		out[r.HostID] = append(out[r.HostID], r.Value)
	}
	return out, nil
}

// SaveFleet makes the stored inventory equal to f, in one transaction: hosts,
// environments and apps that f lacks are removed, the rest inserted or
// updated in place. An invalid fleet is refused before anything is written.
// Release and run history is never touched.
func (s *Store) SaveFleet(ctx context.Context, f *inventory.Fleet) error {
	if err := inventory.Validate(f); err != nil {
		return err
	}
	return s.Transaction(ctx, func(tx *sqlx.Tx) error {
		if err := s.fleetLock(ctx, tx); err != nil {
			return err
		}
		before, err := s.loadFleet(ctx, tx)
		if err != nil {
			return err
		}
		if err := saveFleet(ctx, tx, f); err != nil {
			return err
		}
		return s.recordFleetChange(ctx, tx, before, f)
	})
}

func saveFleet(ctx context.Context, tx *sqlx.Tx, f *inventory.Fleet) error {
	now := time.Now().UnixMilli()
	envIDs := map[string]int64{}
	for i, e := range f.Environments {
		var id int64
		err := tx.GetContext(ctx, &id, tx.Rebind(`
			INSERT INTO environments (name, protected, strategy, batch_size, position) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET protected = excluded.protected, strategy = excluded.strategy,
				batch_size = excluded.batch_size, position = excluded.position
			RETURNING id`), e.Name, b2i(e.Protected), e.Strategy, e.BatchSize, i)
		if err != nil {
			return fmt.Errorf("save environment %s: %w", e.Name, err)
		}
		envIDs[e.Name] = id
	}

	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM role_defaults`)); err != nil {
		return err
	}
	for role, rs := range f.Roles {
		b, _ := json.Marshal(rs)
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO role_defaults (role, settings) VALUES (?, ?)`), role, string(b)); err != nil {
			return fmt.Errorf("save settings of role %s: %w", role, err)
		}
	}
	if err := saveRunbooks(ctx, tx, f); err != nil {
		return err
	}

	appNames := make([]any, 0, len(f.Apps))
	for i, a := range f.Apps {
		b, _ := json.Marshal(appConfig{Shared: a.Shared, Stages: a.Stages, Migrate: a.Migrate, MigratePlan: a.MigratePlan, Health: a.Health,
			Env: a.Env, EnvPerEnvironment: a.EnvPerEnvironment, EnvPerHost: a.EnvPerHost, Secrets: a.Secrets,
			Notify: a.Notify, StrictRequirements: a.StrictRequirements, Watch: a.Watch, Static: a.Static, Build: a.Build})
		_, err := tx.ExecContext(ctx, tx.Rebind(`
			INSERT INTO apps (name, repo, deploy_to, keep_releases, preset, config, position) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET repo = excluded.repo, deploy_to = excluded.deploy_to,
				keep_releases = excluded.keep_releases, preset = excluded.preset, config = excluded.config,
				position = excluded.position`),
			a.Name, a.Repo, a.DeployTo, a.KeepReleases, a.Preset, string(b), i)
		if err != nil {
			return fmt.Errorf("save app %s: %w", a.Name, err)
		}
		appNames = append(appNames, a.Name)
	}
	if err := deleteMissing(ctx, tx, "apps", appNames); err != nil {
		return err
	}

	hostNames := make([]any, 0, len(f.Hosts))
	for i, h := range f.Hosts {
		if err := saveHost(ctx, tx, h, envIDs, i, now); err != nil {
			return err
		}
		hostNames = append(hostNames, h.Name)
	}
	if err := deleteMissing(ctx, tx, "hosts", hostNames); err != nil {
		return err
	}

	envNames := make([]any, 0, len(f.Environments))
	for _, e := range f.Environments {
		envNames = append(envNames, e.Name)
	}
	if err := deleteMissing(ctx, tx, "environments", envNames); err != nil {
		return err
	}
	return saveFleetFreezes(ctx, tx, f)
}

// deleteMissing removes the rows of table whose name is not in keep.
func deleteMissing(ctx context.Context, tx *sqlx.Tx, table string, keep []any) error {
	q := fmt.Sprintf(`DELETE FROM %s`, table)
	if len(keep) > 0 {
		q += ` WHERE name NOT IN (?` + strings.Repeat(`, ?`, len(keep)-1) + `)`
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(q), keep...); err != nil {
		return fmt.Errorf("remove %s no longer in the inventory: %w", table, err)
	}
	return nil
}

func saveHost(ctx context.Context, tx *sqlx.Tx, h inventory.Host, envIDs map[string]int64, position int, now int64) error {
	var envID any // NULL for a host not yet placed in an environment
	if h.Env != "" {
		id, ok := envIDs[h.Env]
		if !ok {
			return fmt.Errorf("save host %s: unknown environment %q", h.Name, h.Env)
		}
		envID = id
	}
	settings := "{}"
	if len(h.Settings) > 0 {
		b, _ := json.Marshal(h.Settings)
		settings = string(b)
	}
	var id int64
	err := tx.GetContext(ctx, &id, tx.Rebind(`
		INSERT INTO hosts (name, address, port, "user", env_id, deploy_to, identity_file, proxy_jump,
			forward_agent, settings, position, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET address = excluded.address, port = excluded.port, "user" = excluded."user",
			env_id = excluded.env_id, deploy_to = excluded.deploy_to, identity_file = excluded.identity_file,
			proxy_jump = excluded.proxy_jump, forward_agent = excluded.forward_agent, settings = excluded.settings,
			position = excluded.position,
			updated_at = CASE WHEN hosts.address = excluded.address AND hosts.port = excluded.port
				AND hosts."user" = excluded."user" AND hosts.env_id IS NOT DISTINCT FROM excluded.env_id
				AND hosts.deploy_to = excluded.deploy_to AND hosts.identity_file = excluded.identity_file
				AND hosts.proxy_jump = excluded.proxy_jump AND hosts.forward_agent = excluded.forward_agent
				AND hosts.settings = excluded.settings THEN hosts.updated_at ELSE excluded.updated_at END
		RETURNING id`),
		h.Name, h.Address, h.Port, h.User, envID, h.DeployTo, h.IdentityFile, h.ProxyJump,
		b2i(h.ForwardAgent), settings, position, now, now)
	if err != nil {
		return fmt.Errorf("save host %s: %w", h.Name, err)
	}
	for _, list := range []struct {
		table, column string
		values        []string
	}{{"host_roles", "role", h.Roles}, {"host_tags", "tag", h.Tags}} {
		if _, err := tx.ExecContext(ctx, tx.Rebind(fmt.Sprintf(`DELETE FROM %s WHERE host_id = ?`, list.table)), id); err != nil {
			return fmt.Errorf("save host %s: %w", h.Name, err)
		}
		for i, v := range list.values {
			q := fmt.Sprintf(`INSERT INTO %s (host_id, %s, position) VALUES (?, ?, ?)`, list.table, list.column)
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), id, v, i); err != nil {
				return fmt.Errorf("save host %s: %s %q: %w", h.Name, list.column, v, err)
			}
		}
	}
	return nil
}

// UpdateFleet loads the inventory, lets fn change it, validates the result and
// saves it, all in one write transaction, so two operators editing at once
// never lose each other's change. It is how single-host add, rm and set work.
func (s *Store) UpdateFleet(ctx context.Context, fn func(f *inventory.Fleet) error) (*inventory.Fleet, error) {
	var f *inventory.Fleet
	err := s.Transaction(ctx, func(tx *sqlx.Tx) error {
		if err := s.fleetLock(ctx, tx); err != nil {
			return err
		}
		var err error
		if f, err = s.loadFleet(ctx, tx); err != nil {
			return err
		}
		before := f.Clone()
		if err := fn(f); err != nil {
			return err
		}
		if err := inventory.Validate(f); err != nil {
			return err
		}
		if err := saveFleet(ctx, tx, f); err != nil {
			return err
		}
		return s.recordFleetChange(ctx, tx, before, f)
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}
