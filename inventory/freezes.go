package inventory

import (
	"fmt"
	"strings"
	"time"
)

// Freeze is a window in which deploys and config changes to an
// environment are refused (a maintenance window, a sales weekend, the
// nights): the fleet file's `freezes:`, or one added for the team with
// `opsui freeze add`.
//
// A one-off window has Start and End as "2006-01-02 15:04" in TimeZone; a
// weekly one (Every "week") as "Mon 15:04", and wraps over the weekend
// when End comes before Start ("Fri 16:00" to "Mon 08:00").
type Freeze struct {
	Env      string `yaml:"env" json:"env"`
	Reason   string `yaml:"reason" json:"reason"`
	Start    string `yaml:"start" json:"start"`
	End      string `yaml:"end" json:"end"`
	Every    string `yaml:"every,omitempty" json:"every,omitempty"`         // "" (once) or "week"
	TimeZone string `yaml:"time_zone,omitempty" json:"time_zone,omitempty"` // an IANA name; "" is UTC
}

// FreezeWeekly is the one recurrence a freeze knows.
const FreezeWeekly = "week"

// freezeOnceLayout is a one-off freeze's Start and End.
const freezeOnceLayout = "2006-01-02 15:04"

func (fz Freeze) String() string {
	zone := fz.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	every := ""
	if fz.Every == FreezeWeekly {
		every = "every week, "
	}
	return fmt.Sprintf("%s: %s%s to %s %s (%s)", fz.Env, every, fz.Start, fz.End, zone, fz.Reason)
}

// Location returns the freeze's time zone.
func (fz Freeze) Location() (*time.Location, error) {
	if fz.TimeZone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(fz.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (use an IANA name such as Europe/Paris)", fz.TimeZone)
	}
	return loc, nil
}

// Problems lists what is wrong with fz, by field, for Validate and for
// `opsui freeze add`: every problem at once.
func (fz Freeze) Problems() map[string]string {
	ps := map[string]string{}
	if !ValidEnvName(fz.Env) {
		ps["env"] = fmt.Sprintf("invalid environment name %q", fz.Env)
	}
	if strings.TrimSpace(fz.Reason) == "" {
		ps["reason"] = "a freeze needs a reason (it is what a refused deploy says)"
	}
	loc, err := fz.Location()
	if err != nil {
		ps["time_zone"] = err.Error()
		loc = time.UTC
	}
	layout, want := freezeOnceLayout, `"2026-12-24 18:00"`
	switch fz.Every {
	case "":
	case FreezeWeekly:
		want = `"Fri 16:00"`
	default:
		ps["every"] = fmt.Sprintf("unknown recurrence %q (want week, or nothing for a one-off window)", fz.Every)
		return ps
	}
	if fz.Every == FreezeWeekly {
		s, err1 := weekMinute(fz.Start)
		if err1 != nil {
			ps["start"] = fmt.Sprintf("start %q is not a time like %s", fz.Start, want)
		}
		e, err2 := weekMinute(fz.End)
		if err2 != nil {
			ps["end"] = fmt.Sprintf("end %q is not a time like %s", fz.End, want)
		}
		if err1 == nil && err2 == nil && s == e {
			ps["end"] = "a weekly window needs an end other than its start"
		}
		return ps
	}
	start, err1 := time.ParseInLocation(layout, fz.Start, loc)
	if err1 != nil {
		ps["start"] = fmt.Sprintf("start %q is not a time like %s", fz.Start, want)
	}
	end, err2 := time.ParseInLocation(layout, fz.End, loc)
	if err2 != nil {
		ps["end"] = fmt.Sprintf("end %q is not a time like %s", fz.End, want)
	}
	if err1 == nil && err2 == nil && !end.After(start) {
		ps["end"] = fmt.Sprintf("end %s is not after start %s", fz.End, fz.Start)
	}
	return ps
}

// weekMinute reads "Fri 16:00" as minutes since Sunday 00:00 (time.Parse
// checks a weekday's spelling but does not keep it).
func weekMinute(s string) (int, error) {
	day, clock, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		return 0, fmt.Errorf("want a weekday and a time")
	}
	c, err := time.Parse("15:04", clock)
	if err != nil {
		return 0, err
	}
	for d := time.Sunday; d <= time.Saturday; d++ {
		if strings.EqualFold(day, d.String()[:3]) {
			return int(d)*24*60 + c.Hour()*60 + c.Minute(), nil
		}
	}
	return 0, fmt.Errorf("unknown weekday %q (Mon, Tue, ... Sun)", day)
}

// ActiveAt reports whether the freeze holds at t, and until when. A
// freeze with problems never holds (Validate refuses it at import).
func (fz Freeze) ActiveAt(t time.Time) (until time.Time, ok bool) {
	if len(fz.Problems()) > 0 {
		return time.Time{}, false
	}
	loc, _ := fz.Location()
	t = t.In(loc)
	if fz.Every == "" {
		start, _ := time.ParseInLocation(freezeOnceLayout, fz.Start, loc)
		end, _ := time.ParseInLocation(freezeOnceLayout, fz.End, loc)
		return end, !t.Before(start) && t.Before(end)
	}
	// Weekly: compare minutes since Sunday 00:00 in the freeze's zone.
	week := 7 * 24 * 60
	now := int(t.Weekday())*24*60 + t.Hour()*60 + t.Minute()
	s, _ := weekMinute(fz.Start)
	e, _ := weekMinute(fz.End)
	in := s <= now && now < e
	if e < s {
		in = now >= s || now < e
	}
	if !in {
		return time.Time{}, false
	}
	left := (e - now + week) % week
	day := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, loc)
	return day.Add(time.Duration(left) * time.Minute), true
}

// validateFreezes adds the problems of the fleet file's freezes: each
// freeze's own, and an environment the fleet does not declare.
func validateFreezes(f *Fleet, add func(path, format string, args ...any)) {
	envs := map[string]bool{}
	for _, e := range f.Environments {
		envs[e.Name] = true
	}
	for i, fz := range f.Freezes {
		p := fmt.Sprintf("freezes[%d]", i)
		ps := fz.Problems()
		for _, field := range []string{"env", "reason", "start", "end", "every", "time_zone"} {
			if msg, ok := ps[field]; ok {
				add(p+"."+field, "%s", msg)
			}
		}
		if _, bad := ps["env"]; !bad && !envs[fz.Env] {
			add(p+".env", "freeze of environment %q, which the fleet does not declare", fz.Env)
		}
	}
}
