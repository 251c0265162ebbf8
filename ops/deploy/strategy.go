package deploy

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsui/opsui/inventory"
)

// StrategyKind is how the hosts of a deploy are switched. Its string form
// is the one the fleet file, the flags and the release record use.
type StrategyKind string

// The strategy kinds.
const (
	StrategyAll     StrategyKind = inventory.StrategyAll     // every host in one batch
	StrategyRolling StrategyKind = inventory.StrategyRolling // batch by batch
	StrategyCanary  StrategyKind = inventory.StrategyCanary  // one host, a pause, then the rest
)

// StrategyKinds are every kind, in the order the wizard offers them.
var StrategyKinds = []StrategyKind{StrategyAll, StrategyRolling, StrategyCanary}

// ParseStrategy reads a strategy kind as an operator or the fleet file
// spells it; "" is all at once.
func ParseStrategy(s string) (StrategyKind, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return StrategyAll, nil
	}
	k := StrategyKind(s)
	if !slices.Contains(StrategyKinds, k) {
		return "", fmt.Errorf("unknown strategy %q (want all, rolling or canary)", s)
	}
	return k, nil
}

func (k StrategyKind) String() string {
	if k == "" {
		return string(StrategyAll)
	}
	return string(k)
}

// Set and Type make a StrategyKind a flag value: parsed when the flag is.
// An empty value leaves the kind unset (the environment's default).
func (k *StrategyKind) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		*k = ""
		return nil
	}
	v, err := ParseStrategy(s)
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Type names the flag's value in the help ("string", as before it was typed).
func (*StrategyKind) Type() string { return "string" }

// Count is a number of hosts: N, or P percent of the hosts a deploy has.
// The zero Count is 0 hosts.
type Count struct {
	N         int
	Percent   float64
	IsPercent bool
}

// ParseCount reads "N" or "P%"; "" is 0.
func ParseCount(s string) (Count, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Count{}, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 || v > 100 || math.IsNaN(v) {
			return Count{}, fmt.Errorf("%q is not a percentage between 0%% and 100%%", s)
		}
		return Count{Percent: v, IsPercent: true}, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return Count{}, fmt.Errorf("%q is not a host count or a percentage", s)
	}
	return Count{N: v}, nil
}

// Of is how many of n hosts c is; a percentage rounds up, so 25% of 3
// hosts is 1, never 0.
func (c Count) Of(n int) int {
	if c.IsPercent {
		return int(math.Ceil(float64(n) * c.Percent / 100))
	}
	return c.N
}

func (c Count) String() string {
	if c.IsPercent {
		return strconv.FormatFloat(c.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(c.N)
}

// Set and Type make a Count a flag value (--max-fail).
func (c *Count) Set(s string) error {
	v, err := ParseCount(s)
	if err != nil {
		return fmt.Errorf("max-fail %q: %w", s, err)
	}
	*c = v
	return nil
}

// Type names the flag's value in the help.
func (*Count) Type() string { return "string" }

// Batches are the batch sizes of a rolling or canary deploy; the last
// repeats. None means one host at a time (rolling) or the rest at once
// after the canary.
type Batches []Count

// ParseBatches reads a batch size ("2", "25%") or a list ("1,5,25%");
// "" is none.
func ParseBatches(s string) (Batches, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var b Batches
	for f := range strings.SplitSeq(s, ",") {
		c, err := ParseCount(f)
		if err == nil && strings.TrimSpace(f) == "" {
			err = fmt.Errorf("%q is not a host count or a percentage", "")
		}
		if err != nil {
			return nil, fmt.Errorf("batch sizes %q: %w", s, err)
		}
		b = append(b, c)
	}
	return b, nil
}

func (b Batches) String() string {
	s := make([]string, len(b))
	for i, c := range b {
		s[i] = c.String()
	}
	return strings.Join(s, ",")
}

// Set and Type make Batches a flag value (--batch).
func (b *Batches) Set(s string) error {
	v, err := ParseBatches(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// Type names the flag's value in the help.
func (*Batches) Type() string { return "string" }

// Strategy says how the hosts of a deploy are switched. Its values are
// parsed where an operator gives them (flags, the wizard's fields), never
// carried as text.
type Strategy struct {
	Kind StrategyKind
	// Batches size the batches of a rolling or canary deploy. A canary
	// deploy's first batch is always one host.
	Batches Batches
	// MaxFail is how many hosts may fail before no further batch starts.
	MaxFail Count
	// AutoRollback switches the hosts this deploy already switched back
	// to their previous release when a host fails after its switch (a
	// reload or health check), or when the deploy is aborted.
	AutoRollback bool
	// CanaryWait, with no Confirm callback, is how long the canary runs
	// alone before the rest follow.
	CanaryWait time.Duration
}

// DefaultStrategy is env's strategy when the operator names none: its
// kind (all at once when it has none) in batches of its batch size, with
// auto-rollback. The flags and the wizard both start from it.
func DefaultStrategy(env inventory.Environment) Strategy {
	s := Strategy{Kind: StrategyKind(env.Strategy), AutoRollback: true}
	if s.Kind == "" {
		s.Kind = StrategyAll
	}
	if env.BatchSize > 0 {
		s.Batches = Batches{{N: env.BatchSize}}
	}
	return s
}

// batchSizes returns the sizes of the batches n hosts are switched in.
func (s Strategy) batchSizes(n int) ([]int, error) {
	if n == 0 {
		return nil, nil
	}
	var spec Batches
	switch s.Kind {
	case "", StrategyAll:
		return []int{n}, nil
	case StrategyRolling:
		spec = s.Batches
		if len(spec) == 0 {
			spec = Batches{{N: 1}}
		}
	case StrategyCanary:
		spec = append(Batches{{N: 1}}, s.Batches...)
		if len(s.Batches) == 0 {
			spec = Batches{{N: 1}, {Percent: 100, IsPercent: true}}
		}
	default:
		return nil, fmt.Errorf("unknown strategy %q (want all, rolling or canary)", string(s.Kind))
	}
	var sizes []int
	left := n
	for i := 0; left > 0; i++ {
		size := max(1, min(spec[min(i, len(spec)-1)].Of(n), left))
		sizes = append(sizes, size)
		left -= size
	}
	return sizes, nil
}
