package inventory

import (
	"strings"
	"testing"
	"time"
)

func TestFreezeWindows(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	once := Freeze{Env: "production", Reason: "sale", Start: "2026-11-27 00:00", End: "2026-11-30 08:00", TimeZone: "Europe/Paris"}
	weekend := Freeze{Env: "production", Reason: "weekend", Start: "Fri 16:00", End: "Mon 08:00", Every: FreezeWeekly, TimeZone: "Europe/Paris"}
	nights := Freeze{Env: "production", Reason: "lunch", Start: "Wed 12:00", End: "Wed 14:00", Every: FreezeWeekly}
	for _, tc := range []struct {
		name  string
		fz    Freeze
		at    time.Time
		in    bool
		until string
	}{
		{"before a one-off", once, time.Date(2026, 11, 26, 23, 59, 0, 0, paris), false, ""},
		{"in a one-off", once, time.Date(2026, 11, 27, 0, 0, 0, 0, paris), true, "2026-11-30 08:00"},
		{"one-off end is open", once, time.Date(2026, 11, 30, 8, 0, 0, 0, paris), false, ""},
		{"one-off in another zone", once, time.Date(2026, 11, 26, 23, 30, 0, 0, time.UTC), true, "2026-11-30 08:00"},
		{"friday afternoon", weekend, time.Date(2026, 12, 4, 16, 0, 0, 0, paris), true, "2026-12-07 08:00"},
		{"sunday", weekend, time.Date(2026, 12, 6, 12, 0, 0, 0, paris), true, "2026-12-07 08:00"},
		{"monday morning", weekend, time.Date(2026, 12, 7, 7, 59, 0, 0, paris), true, "2026-12-07 08:00"},
		{"monday at eight", weekend, time.Date(2026, 12, 7, 8, 0, 0, 0, paris), false, ""},
		{"thursday", weekend, time.Date(2026, 12, 3, 12, 0, 0, 0, paris), false, ""},
		{"wednesday lunch utc", nights, time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC), true, "2026-12-02 14:00"},
		{"wednesday evening", nights, time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC), false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			until, in := tc.fz.ActiveAt(tc.at)
			if in != tc.in {
				t.Fatalf("ActiveAt(%v) = %v, want %v", tc.at, in, tc.in)
			}
			loc, _ := tc.fz.Location()
			if in && until.In(loc).Format(freezeOnceLayout) != tc.until {
				t.Errorf("until %v, want %s", until.In(loc), tc.until)
			}
		})
	}
}

func TestFreezeProblemsInTheFleetFile(t *testing.T) {
	src := `environments:
  - name: production
freezes:
  - env: production
    reason: sale
    start: "2026-11-27 00:00"
    end: "2026-11-26 00:00"
  - env: staging
    reason: ""
    start: "Fry 16:00"
    end: "Mon 08:00"
    every: week
    time_zone: Mars/Olympus
`
	_, err := DecodeYAML("fleet.yaml", []byte(src))
	if err == nil {
		t.Fatal("bad freezes were accepted")
	}
	for _, want := range []string{
		"fleet.yaml:7:10: freezes[0].end: end 2026-11-26 00:00 is not after start 2026-11-27 00:00",
		`fleet.yaml:8:10: freezes[1].env: freeze of environment "staging", which the fleet does not declare`,
		"fleet.yaml:9:13: freezes[1].reason: a freeze needs a reason",
		`fleet.yaml:10:12: freezes[1].start: start "Fry 16:00" is not a time like "Fri 16:00"`,
		`fleet.yaml:13:16: freezes[1].time_zone: unknown time zone "Mars/Olympus"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	good := `environments:
  - name: production
freezes:
  - env: production
    reason: weekend
    start: Fri 16:00
    end: Mon 08:00
    every: week
    time_zone: Europe/Paris
`
	f, err := DecodeYAML("fleet.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	out, err := EncodeYAML(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := DecodeYAML("again.yaml", out)
	if err != nil || len(g.Freezes) != 1 || g.Freezes[0] != f.Freezes[0] {
		t.Errorf("round trip lost the freeze: %+v, %v\n%s", g, err, out)
	}
}
