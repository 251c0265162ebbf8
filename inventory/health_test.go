package inventory

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestHealthRequestHeaders: host first, the rest by name; bad values are
// import errors naming their field.
func TestHealthRequestHeaders(t *testing.T) {
	hc := HealthCheck{URL: "http://127.0.0.1:8000/health/", Host: "www.shop.test",
		Headers: map[string]string{"X-Forwarded-Proto": "https", "Accept": "text/plain"}}
	want := []string{"Host: www.shop.test", "Accept: text/plain", "X-Forwarded-Proto: https"}
	if got := hc.RequestHeaders(); !slices.Equal(got, want) {
		t.Errorf("RequestHeaders = %q, want %q", got, want)
	}
	for _, tc := range []struct {
		hc   HealthCheck
		want string
	}{
		{HealthCheck{Host: "www.shop.test:8443"}, ""},
		{HealthCheck{Host: "[::1]:8000"}, ""},
		{HealthCheck{Host: "www.shop.test\r\nX-Evil: 1"}, "apps[0].health.host"},
		{HealthCheck{Host: "shop test"}, "apps[0].health.host"},
		{HealthCheck{Headers: map[string]string{"Host": "x"}}, "apps[0].health.headers.Host: the Host header is health.host"},
		{HealthCheck{Headers: map[string]string{"X Bad": "x"}}, "apps[0].health.headers.X Bad: header name"},
		{HealthCheck{Headers: map[string]string{"X-Ok": "a\nb"}}, "apps[0].health.headers.X-Ok: header X-Ok holds a line break"},
	} {
		var got []string
		validateHealthRequest("apps[0].health", tc.hc, func(path, format string, args ...any) {
			got = append(got, path+": "+fmt.Sprintf(format, args...))
		})
		switch {
		case tc.want == "" && len(got) > 0:
			t.Errorf("%+v: unexpected problems %q", tc.hc, got)
		case tc.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tc.want)):
			t.Errorf("%+v: problems %q, want one starting %q", tc.hc, got, tc.want)
		}
	}
}

// TestPresetMigrateDefaults: the django preset migrates with no fleet-file
// line; an app's own migrate wins, and its plan is never the preset's.
func TestPresetMigrateDefaults(t *testing.T) {
	for _, tc := range []struct {
		app           App
		migrate, plan string
	}{
		{App{Preset: "django"}, "./venv/bin/python manage.py migrate --noinput", "./venv/bin/python manage.py showmigrations --plan"},
		{App{Preset: "django", Migrate: "make migrate"}, "make migrate", ""},
		{App{Preset: "django", Migrate: "make migrate", MigratePlan: "make plan"}, "make migrate", "make plan"},
		{App{Preset: "django", MigratePlan: "make plan"}, "./venv/bin/python manage.py migrate --noinput", "make plan"},
		{App{}, "", ""},
	} {
		if m, p := tc.app.MigrateCommand(), tc.app.MigratePlanCommand(); m != tc.migrate || p != tc.plan {
			t.Errorf("%+v: migrate %q plan %q, want %q %q", tc.app, m, p, tc.migrate, tc.plan)
		}
	}
}

// TestDiffNamesTheSettingThatChanged: an import that edits a host's role
// setting or the app's health check names the setting, not "(edited)".
func TestDiffNamesTheSettingThatChanged(t *testing.T) {
	before := &Fleet{Hosts: []Host{{Name: "web1", Address: "10.0.0.1", Settings: map[string]RoleSettings{
		"web": {HealthURL: "http://127.0.0.1:8000/health/", Options: map[string]string{"workers": "2"}}}}},
		Apps: []App{{Name: "shop", Health: &HealthCheck{URL: "http://127.0.0.1:8000/health/"}}}}
	after := &Fleet{Hosts: []Host{{Name: "web1", Address: "10.0.0.1", Settings: map[string]RoleSettings{
		"web":    {HealthURL: "http://127.0.0.1:8001/health/", Options: map[string]string{"workers": "4"}},
		"worker": {Service: "celery"}}}},
		Apps: []App{{Name: "shop", Health: &HealthCheck{URL: "http://127.0.0.1:8000/health/", Host: "www.shop.test"}}}}
	got := Diff(before, after).String()
	for _, want := range []string{
		`settings.web.health_url: "http://127.0.0.1:8000/health/" -> "http://127.0.0.1:8001/health/"`,
		`settings.web.options.workers: "2" -> "4"`,
		`settings.worker: (none) -> (set)`,
		`~ app shop: health.host: (none) -> "www.shop.test"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the diff does not say %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "(edited)") {
		t.Errorf("the diff hides what changed:\n%s", got)
	}
}

// TestHostWithoutAddressIsItsName: a host may leave address out when its
// name is one ssh resolves (an ssh_config alias): ssh is given the name.
func TestHostWithoutAddressIsItsName(t *testing.T) {
	f, err := DecodeYAML("f.yaml", []byte("environments:\n  - name: prod\nhosts:\n  - name: web1.internal\n    env: prod\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(f); err != nil {
		t.Fatalf("a host named by its ssh alias: %v", err)
	}
	if h := f.Hosts[0]; h.SSHAddress() != "web1.internal" || h.DialAddress() != "web1.internal:22" {
		t.Errorf("SSHAddress %q DialAddress %q, want the name", h.SSHAddress(), h.DialAddress())
	}
}
