package inventory

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestBuildInTheFleetFile: an app's build: is read in its three forms,
// exported and read again as it was; a bad one is refused with each
// problem's place, a secret in its env with the reason.
func TestBuildInTheFleetFile(t *testing.T) {
	good := `apps:
  - name: one
    repo: /src/one
    deploy_to: /srv/one
    build: make wheels
  - name: list
    repo: /src/list
    deploy_to: /srv/list
    build:
      - pip wheel -r requirements.txt -w wheels
      - echo done
  - name: full
    repo: /src/full
    deploy_to: /srv/full
    build:
      run: ./build.sh
      timeout: 90s
      env: {PIP_NO_INPUT: "1", MODE: release}
      secrets: {PIP_INDEX_URL: pypi}
    secrets:
      pypi: {env: PYPI_URL}
`
	f, err := DecodeYAML("fleet.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*Build{
		"one":  {Run: []string{"make wheels"}},
		"list": {Run: []string{"pip wheel -r requirements.txt -w wheels", "echo done"}},
		"full": {Run: []string{"./build.sh"}, Timeout: Duration(90 * time.Second), Env: map[string]string{"PIP_NO_INPUT": "1", "MODE": "release"},
			Secrets: map[string]string{"PIP_INDEX_URL": "pypi"}},
	}
	for name, b := range want {
		a, _ := f.App(name)
		if !reflect.DeepEqual(a.Build, b) {
			t.Errorf("app %s: build %+v, want %+v", name, a.Build, b)
		}
	}
	if a, _ := f.App("one"); a.Build.TimeoutOrDefault() != DefaultBuildTimeout {
		t.Errorf("default timeout %s", a.Build.TimeoutOrDefault())
	}
	if a, _ := f.App("full"); a.Build.TimeoutOrDefault() != 90*time.Second {
		t.Errorf("timeout %s", a.Build.TimeoutOrDefault())
	}
	out, err := EncodeYAML(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"build: make wheels", "echo done", "timeout: 1m30s", "PIP_NO_INPUT: \"1\""} {
		if !strings.Contains(string(out), line) {
			t.Errorf("export lacks %q:\n%s", line, out)
		}
	}
	again, err := DecodeYAML("export.yaml", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !reflect.DeepEqual(again.Apps, f.Apps) {
		t.Errorf("export and import changed the apps:\n%+v\n%+v", again.Apps, f.Apps)
	}

	bad := `apps:
  - name: shop
    repo: /src/shop
    deploy_to: /srv/shop
    build:
      run: ["make", "  "]
      timeout: 3h
      env:
        TOKEN: {secret: pypi}
        COMMIT: abc
        2BAD: x
        LEVEL: high
      dir: /tmp
      secrets: {MODE2: nope, "2BAD": x, LEVEL: pypi, X: {secret: y}}
    env:
      TOKEN: "1"
    secrets:
      pypi: {env: PYPI_URL}
  - name: blog
    repo: /src/blog
    deploy_to: /srv/blog
    build: {timeout: soon}
  - name: wiki
    repo: /src/wiki
    deploy_to: /srv/wiki
    build: [[make]]
`
	_, err = DecodeYAML("fleet.yaml", []byte(bad))
	if err == nil {
		t.Fatal("a bad build was accepted")
	}
	for _, want := range []string{
		`fleet.yaml:6:21: apps[0].build.run[1]: build command 2 is empty`,
		`fleet.yaml:7:16: apps[0].build.timeout: timeout 3h0m0s is longer than 2h0m0s`,
		`fleet.yaml:9:16: apps[0].build.env.TOKEN: a build's env takes plain values only; give it a secret by name under the build's secrets: (VARIABLE: SECRET_NAME)`,
		`fleet.yaml:10:9: apps[0].build.env.COMMIT: COMMIT is set by opsui for every build (APP, COMMIT, ENV, RELEASE_ID)`,
		`fleet.yaml:11:9: apps[0].build.env.2BAD: invalid variable name "2BAD"`,
		`fleet.yaml:13:7: apps[0].build.dir: unknown field "dir"`,
		`fleet.yaml:14:24: apps[0].build.secrets.MODE2: secret "nope" is not declared in the app's secrets:`,
		`fleet.yaml:14:38: apps[0].build.secrets.2BAD: invalid variable name "2BAD"`,
		`fleet.yaml:14:48: apps[0].build.secrets.LEVEL: LEVEL is also set in the build's env:`,
		`fleet.yaml:14:57: apps[0].build.secrets.X: wants the name of a secret declared in the app's secrets:`,
		`fleet.yaml:22:22: apps[1].build.timeout: invalid duration "soon"`,
		`fleet.yaml:26:13: apps[2].build[0]: expected a command (a string), found a list`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
