package deploy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// EnvChangeKind is what a deploy does to one key of a host's shared/.env.
type EnvChangeKind string

// What a deploy does to a key.
const (
	EnvAdded   EnvChangeKind = "added"
	EnvChanged EnvChangeKind = "changed"
	EnvRemoved EnvChangeKind = "removed"
)

// EnvChange is one key of the app's environment that the deploy changes
// on some of its hosts, compared with what opsui rendered there last (the
// store's keyed hashes). It names the key and, for a secret, the secret:
// never a value.
type EnvChange struct {
	Key  string
	Kind EnvChangeKind
	// Secret names the secret the key takes its value from ("" for a
	// plain value, or a key removed).
	Secret string
	Hosts  []string
}

// String is the change as the wizard shows it: "API_KEY=‹secret api›
// changed on web1, web2".
func (c EnvChange) String() string {
	k := c.Key
	if c.Secret != "" {
		k += "=" + inventory.SecretLabel(c.Secret)
	}
	return fmt.Sprintf("%s %s on %s", k, c.Kind, strings.Join(c.Hosts, ", "))
}

// EnvChanges returns the keys of shared/.env that deploying p changes on
// its hosts, by key then kind. A secret whose name is unchanged counts as
// unchanged: a preview resolves no secret, so its value is compared at
// the deploy only. It reads the store, no host: a hand edit on a host is
// what env diff finds.
func EnvChanges(ctx context.Context, st *store.Store, p *Plan) ([]EnvChange, error) {
	if !p.App.HasEnv() {
		return nil, nil
	}
	recorded, err := st.EnvHashes(ctx, p.App.Name, p.Env.Name)
	if err != nil {
		return nil, err
	}
	last := map[string]map[string]store.EnvHash{} // host -> key -> what was rendered
	for _, h := range recorded {
		if last[h.Host] == nil {
			last[h.Host] = map[string]store.EnvHash{}
		}
		last[h.Host][h.Name] = h
	}
	var hashKey []byte
	if len(recorded) > 0 { // asked only then: the first ask makes the key
		if hashKey, err = st.EnvHashKey(ctx); err != nil {
			return nil, err
		}
	}
	type id struct {
		key    string
		kind   EnvChangeKind
		secret string
	}
	hosts := map[id][]string{}
	for _, h := range p.Hosts {
		want, had := p.App.EnvFor(h), last[h.Name]
		for _, k := range inventory.EnvKeys(want) {
			v := want[k]
			rec, ok := had[k]
			switch {
			case !ok:
				hosts[id{k, EnvAdded, v.Secret}] = append(hosts[id{k, EnvAdded, v.Secret}], h.Name)
			case v.IsSecret() && rec.Secret == v.Secret:
			case v.IsSecret() || rec.Secret != "" || HashEnvValue(hashKey, k, v.Value) != rec.Hash:
				hosts[id{k, EnvChanged, v.Secret}] = append(hosts[id{k, EnvChanged, v.Secret}], h.Name)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(had)) {
			if _, ok := want[k]; !ok {
				hosts[id{k, EnvRemoved, ""}] = append(hosts[id{k, EnvRemoved, ""}], h.Name)
			}
		}
	}
	out := make([]EnvChange, 0, len(hosts))
	for i, hs := range hosts {
		out = append(out, EnvChange{Key: i.key, Kind: i.kind, Secret: i.secret, Hosts: hs})
	}
	slices.SortFunc(out, func(a, b EnvChange) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return strings.Compare(string(a.Kind), string(b.Kind))
	})
	return out, nil
}
