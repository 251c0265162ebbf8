package deploy

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
)

// TestStaticDir: where STATIC_ROOT is, as the building host reports it,
// and what cannot be shipped.
func TestStaticDir(t *testing.T) {
	for _, c := range []struct{ out, base, dir, why string }{
		{"120 static files copied\n" + staticRootMarker + "release staticfiles\n", "release", "staticfiles", ""},
		{staticRootMarker + "shared public/static\n", "shared", "public/static", ""},
		{staticRootMarker + "outside /var/www/static\n", "", "", "STATIC_ROOT /var/www/static is outside the release and shared/"},
		{"0 static files copied\n", "", "", "did not say where STATIC_ROOT is"},
		{staticRootMarker + "release ../other\n", "", "", "not a directory inside"},
		{staticRootMarker + "release .\n", "", "", "not a directory inside"},
		{staticRootMarker + "shared a//b\n", "", "", "not a directory inside"},
		{staticRootMarker + "elsewhere x\n", "", "", "unexpected STATIC_ROOT report"},
	} {
		base, dir, why := staticDir(c.out)
		if base != c.base || dir != c.dir || (c.why == "") != (why == "") || !strings.Contains(why, c.why) {
			t.Errorf("staticDir(%q) = %q, %q, %q; want %q, %q, %q", c.out, base, dir, why, c.base, c.dir, c.why)
		}
	}
}

// TestStaticStepsFollowTheOption: the preset's collectstatic step is the
// once script unless the app says per_host; an app's own replacement is
// left alone.
func TestStaticStepsFollowTheOption(t *testing.T) {
	run := func(app inventory.App) string {
		steps, err := Steps(app)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			if s.Slot == "collectstatic" {
				return s.Run
			}
		}
		return ""
	}
	app := inventory.App{Name: "a", Preset: PresetDjango}
	if run(app) != staticOnceScript {
		t.Errorf("the default collectstatic step does not build once")
	}
	app.Static = inventory.StaticOnce
	if run(app) != staticOnceScript {
		t.Errorf("static: once does not build once")
	}
	app.Static = inventory.StaticPerHost
	if run(app) != djangoCollectstaticScript {
		t.Errorf("static: per_host does not run the preset's step on each host")
	}
	app.Static = ""
	app.Stages = []inventory.Stage{{Name: "static", Run: "echo mine", Position: "replace:collectstatic"}}
	if got := run(app); got != "echo mine" {
		t.Errorf("an app's own collectstatic stage became %q", got)
	}
}

// TestStaticOptionIsValidated: the fleet file's static: takes once or
// per_host, on a django app only, and says where it is wrong.
func TestStaticOptionIsValidated(t *testing.T) {
	for _, c := range []struct{ preset, static, want string }{
		{"django", "per_host", ""},
		{"django", "once", ""},
		{"django", "perhost", `apps[0].static: unknown static "perhost" (known: once, per_host)`},
		{"", "per_host", `apps[0].static: static applies to the django preset's collectstatic step`},
	} {
		doc := fmt.Sprintf("environments: [{name: test}]\napps:\n  - name: a\n    repo: /r\n    deploy_to: /d\n    preset: %q\n    static: %s\n", c.preset, c.static)
		f, err := inventory.DecodeYAML("fleet.yaml", []byte(doc))
		if err == nil {
			err = inventory.Validate(f)
		}
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("static: %s with preset %q: %v, want %q", c.static, c.preset, err, c.want)
		}
	}
}

// TestStaticReaderChecksWhatArrived: the archive is taken only when its
// size and sha256 are what the host described.
func TestStaticReaderChecksWhatArrived(t *testing.T) {
	body := bytes.Repeat([]byte("static bytes "), 1000)
	enc := base64.StdEncoding.EncodeToString(body)
	sum := sha256.Sum256(body)
	desc := fmt.Sprintf("%s%d %x 7", staticTarMarker, len(body), sum)
	read := func(lines ...string) (int64, string, int, error) {
		f, err := os.CreateTemp(t.TempDir(), "static")
		if err != nil {
			t.Fatal(err)
		}
		rd := newStaticReader(f)
		for _, l := range lines {
			rd.line(l)
		}
		if err := rd.close(); err != nil {
			t.Fatal(err)
		}
		if rd.err != nil {
			return 0, "", 0, rd.err
		}
		return rd.check()
	}
	if n, s, files, err := read("login chatter", desc, enc[:3072], enc[3072:]); err != nil || n != int64(len(body)) || s != fmt.Sprintf("%x", sum) || files != 7 {
		t.Errorf("a whole archive: %d bytes, %s, %d files, %v", n, s, files, err)
	}
	if _, _, _, err := read(desc, enc[:3072]); err == nil || !strings.Contains(err.Error(), "arrived incomplete") {
		t.Errorf("a cut archive: %v", err)
	}
	if _, _, _, err := read(desc, "not base64!"); err == nil || !strings.Contains(err.Error(), "arrived damaged") {
		t.Errorf("a damaged line: %v", err)
	}
	if _, _, _, err := read("nothing"); err != errNoStaticTar {
		t.Errorf("no archive: %v", err)
	}
}
