package inventory

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Watch is an app's regression watch: before a deploy's first switch
// opsui reads its web hosts' logs (the web role's logs:) for a baseline;
// after each batch it watches the hosts switched so far, and a 5xx rate
// above the baseline's by Margin, or an error signature the baseline
// never showed that recurs, stops the rollout.
//
// An app without watch: is not watched. In the fleet file:
//
//	watch:
//	  duration: 60s      # each batch, after its switch (0 turns the watch off)
//	  baseline: 60s      # the logs read before the first switch (default: duration)
//	  margin: 1          # percentage points of 5xx rate above the baseline's
//	  repeats: 2         # occurrences of a new error signature that trip it
//	  environments: {staging: 10s, dev: 0s}
type Watch struct {
	// Duration is how long each batch is watched once its hosts are
	// switched and their steps ran; DefaultWatchDuration when unset, and
	// 0 turns the watch off.
	Duration *Duration `yaml:"duration,omitempty" json:"duration,omitempty"`
	// Baseline is how long the logs are read before the first switch
	// (Duration when unset); preparing the release counts towards it.
	Baseline Duration `yaml:"baseline,omitempty" json:"baseline,omitempty"`
	// Margin is how many percentage points the watched hosts' 5xx rate
	// may exceed the baseline's (DefaultWatchMargin when unset).
	Margin *float64 `yaml:"margin,omitempty" json:"margin,omitempty"`
	// Repeats is how many times an error signature the baseline did not
	// show must occur to trip the watch, and how many 5xx answers at the
	// least a rate trip needs (DefaultWatchRepeats when 0).
	Repeats int `yaml:"repeats,omitempty" json:"repeats,omitempty"`
	// Environments overrides Duration by environment name.
	Environments map[string]Duration `yaml:"environments,omitempty" json:"environments,omitempty"`
}

// Defaults of a Watch.
const (
	DefaultWatchDuration = 60 * time.Second
	DefaultWatchMargin   = 1.0
	DefaultWatchRepeats  = 2
)

// WatchSettings is a Watch resolved for one environment.
type WatchSettings struct {
	Duration, Baseline time.Duration
	Margin             float64 // percentage points
	Repeats            int
}

// On reports whether the watch runs at all.
func (s WatchSettings) On() bool { return s.Duration > 0 }

// For resolves w for environment env: the defaults filled in, the
// environment's duration applied. A nil Watch is off.
func (w *Watch) For(env string) WatchSettings {
	if w == nil {
		return WatchSettings{}
	}
	s := WatchSettings{Duration: DefaultWatchDuration, Margin: DefaultWatchMargin, Repeats: DefaultWatchRepeats}
	if w.Duration != nil {
		s.Duration = time.Duration(*w.Duration)
	}
	if d, ok := w.Environments[env]; ok {
		s.Duration = time.Duration(d)
	}
	s.Baseline = time.Duration(w.Baseline)
	if s.Baseline == 0 {
		s.Baseline = s.Duration
	}
	if w.Margin != nil {
		s.Margin = *w.Margin
	}
	if w.Repeats > 0 {
		s.Repeats = w.Repeats
	}
	return s
}

// maxWatch bounds a watch's durations: an hour per batch is a typo's.
const maxWatch = time.Hour

// validateWatch adds the problems of app path p's watch.
func validateWatch(p string, w *Watch, envs map[string]bool, add func(path, format string, args ...any)) {
	if w == nil {
		return
	}
	p += ".watch"
	if w.Duration != nil && time.Duration(*w.Duration) > maxWatch {
		add(p+".duration", "duration %s is longer than %s", *w.Duration, maxWatch)
	}
	if time.Duration(w.Baseline) > maxWatch {
		add(p+".baseline", "baseline %s is longer than %s", w.Baseline, maxWatch)
	}
	if m := w.Margin; m != nil && (math.IsNaN(*m) || *m < 0 || *m > 100) {
		add(p+".margin", "margin %v is not a number of percentage points between 0 and 100", *m)
	}
	if w.Repeats < 0 {
		add(p+".repeats", "repeats %d is negative", w.Repeats)
	}
	for _, env := range sortedKeys(w.Environments) {
		switch d := time.Duration(w.Environments[env]); {
		case !envs[env]:
			add(p+".environments."+env, "environment %q is not declared in environments:", env)
		case d > maxWatch:
			add(p+".environments."+env, "duration %s is longer than %s", w.Environments[env], maxWatch)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// String describes the settings in a line ("60s after each batch, ...").
func (s WatchSettings) String() string {
	if !s.On() {
		return "off"
	}
	return fmt.Sprintf("%s after each batch against a %s baseline; trips on a 5xx rate more than %s above the baseline's or a new error seen %d times",
		s.Duration, s.Baseline, s.MarginText(), s.Repeats)
}

// MarginText writes the margin in percentage points ("1 point", "0.5 points").
func (s WatchSettings) MarginText() string {
	if s.Margin == 1 {
		return "1 point"
	}
	return fmt.Sprintf("%.4g points", s.Margin)
}
