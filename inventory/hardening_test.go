package inventory

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// decodeProblems decodes doc and returns its problems (failing the test
// when it decodes).
func decodeProblems(t *testing.T, doc string) Problems {
	t.Helper()
	f, err := DecodeYAML("f.yaml", []byte(doc))
	if err == nil {
		t.Fatalf("no error; decoded %+v", f)
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is %T, not Problems: %v", err, err)
	}
	return ps
}

const appHead = "apps:\n  - name: shop\n    repo: /src/shop\n    deploy_to: /srv/shop\n"

func TestYAMLSharedEntries(t *testing.T) {
	bad := []struct{ entry, want string }{
		{`"../../current"`, `".." component`},
		{`"../../releases"`, `".." component`},
		{`/var/www/media`, "absolute path"},
		{`"../../../../etc"`, `".." component`},
		{`"media/../../x"`, `".." component`},
		{`"media//x"`, "empty path component"},
		{`"./media"`, `"." component`},
		{`""`, "shared entry is empty"},
		{`"/"`, "absolute path"},
		{`"media\n../../current"`, "control character"},
		{`"a\tb"`, "control character"},
		{`"a\u007fb"`, "control character"},
		{`REVISION`, "opsui writes"},
	}
	for _, tt := range bad {
		t.Run(tt.entry, func(t *testing.T) {
			ps := decodeProblems(t, appHead+"    shared:\n      - .env\n      - "+tt.entry+"\n")
			if len(ps) != 1 || !strings.Contains(ps[0].Error(), tt.want) || !strings.HasPrefix(ps[0].Error(), "f.yaml:7:9: apps[0].shared[1]: ") {
				t.Errorf("problems = %v\nwant one at f.yaml:7:9 saying %q", ps, tt.want)
			}
		})
	}
	f, err := DecodeYAML("f.yaml", []byte(appHead+"    shared: [.env, media/, logs, public/uploads/, .config/app.ini]\n"))
	if err != nil {
		t.Fatalf("good entries refused: %v", err)
	}
	if got := f.Apps[0].Shared; len(got) != 5 {
		t.Errorf("shared = %v", got)
	}
}

// TestPlaceStagesEveryPosition places one stage before, after and in place
// of every step of every preset: what is refused is refused at import
// with the stage's line, and what is accepted lands exactly there.
func TestPlaceStagesEveryPosition(t *testing.T) {
	for _, preset := range []string{"", "django"} {
		steps, _ := PresetSteps(preset)
		for i, ref := range steps {
			for _, verb := range []string{"before", "after", "replace"} {
				pos := verb + ":" + ref
				t.Run(fmt.Sprintf("%s/%s", orDefault(preset, "none"), pos), func(t *testing.T) {
					app := App{Name: "shop", Repo: "/src", DeployTo: "/srv/shop", Preset: preset,
						Stages: []Stage{{Name: "mine", Run: "true", Position: pos}}}
					refused := (verb == "before" && ref == StepUpload) || (verb == "replace" && (ref == StepUpload || ref == StepSwitch))
					slots, ps := PlaceStages(app)
					doc := fmt.Sprintf("apps:\n  - name: shop\n    repo: /src\n    deploy_to: /srv/shop\n    preset: %q\n    stages:\n      - name: mine\n        run: \"true\"\n        position: %s\n", preset, pos)
					_, err := DecodeYAML("f.yaml", []byte(doc))
					if refused {
						if len(ps) != 1 || ps[0].Field != "position" {
							t.Fatalf("accepted: problems %v, slots %v", ps, slots)
						}
						if err == nil || !strings.Contains(err.Error(), "f.yaml:9:19: apps[0].stages[0].position: ") {
							t.Errorf("import error = %v, want one at the position's line", err)
						}
						return
					}
					if len(ps) > 0 || err != nil {
						t.Fatalf("refused: %v / %v", ps, err)
					}
					want := slices.Clone(steps)
					switch verb {
					case "before":
						want = slices.Insert(want, i, "mine")
					case "after":
						want = slices.Insert(want, i+1, "mine")
					case "replace":
						want[i] = "mine"
					}
					var got []string
					for _, s := range slots {
						got = append(got, s.Name)
					}
					if !slices.Equal(got, want) {
						t.Errorf("order = %v, want %v", got, want)
					}
					if verb == "replace" && slots[i].Preset != ref {
						t.Errorf("replacing slot = %+v, want it to stand for %s", slots[i], ref)
					}
				})
			}
		}
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func TestYAMLStageClashes(t *testing.T) {
	const head = "apps:\n  - name: shop\n    repo: /src\n    deploy_to: /srv/shop\n    preset: django\n    stages:\n"
	tests := []struct{ name, stages, want string }{
		{"named switch", "      - name: switch\n        run: \"true\"\n        position: before:reload\n",
			`f.yaml:7:15: apps[0].stages[0].name: stage name "switch" is a built-in step`},
		{"named upload, replacing it", "      - name: upload\n        run: \"true\"\n        position: replace:upload\n",
			`f.yaml:7:15: apps[0].stages[0].name: stage name "upload" is a built-in step`},
		{"named like a preset step", "      - name: build\n        run: \"true\"\n        position: after:migrate\n",
			`f.yaml:7:15: apps[0].stages[0].name: stage name "build" is the name of a preset step`},
		{"appended under a preset name", "      - name: reload\n        run: \"true\"\n",
			`apps[0].stages[0].name: stage name "reload" is the name of a preset step`},
		{"opsui's own name", "      - name: inspect\n        run: \"true\"\n", `stage name "inspect" is opsui's own`},
		{"before upload", "      - name: x\n        run: \"true\"\n        position: before:upload\n",
			`f.yaml:9:19: apps[0].stages[0].position: position "before:upload": nothing can run before upload`},
		{"unknown step", "      - name: x\n        run: \"true\"\n        position: after:colectstatic\n", `no step colectstatic`},
		{"declared later", "      - name: x\n        run: \"true\"\n        position: after:y\n      - name: y\n        run: \"true\"\n",
			`stage y is declared after this one`},
		{"replace a stage", "      - name: y\n        run: \"true\"\n      - name: x\n        run: \"true\"\n        position: replace:y\n",
			`apps[0].stages[1].position: position "replace:y": replace names a preset step`},
		{"replaced twice", "      - name: x\n        run: \"true\"\n        position: replace:shared\n      - name: y\n        run: \"true\"\n        position: replace:shared\n",
			`the shared step is replaced already, by stage x`},
		{"bad verb", "      - name: x\n        run: \"true\"\n        position: instead:shared\n", `invalid position "instead:shared"`},
		{"nothing to run", "      - name: x\n        run: \"\"\n        position: replace:collectstatic\n", `apps[0].stages[0].run: stage "x" has nothing to run`},
		{"duplicate", "      - name: x\n        run: \"true\"\n      - name: x\n        run: \"true\"\n", `apps[0].stages[1].name: duplicate stage "x"`},
		{"bad name", "      - name: \"a b\"\n        run: \"true\"\n", `invalid stage name "a b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := decodeProblems(t, head+tt.stages)
			if !strings.Contains(ps.Error(), tt.want) {
				t.Errorf("problems = %v\nwant %q", ps, tt.want)
			}
		})
	}
	// What the README shows, and replacing a step under its own name or
	// another, placing after a replaced step and after an earlier stage.
	ok := head + "      - name: compile-messages\n        run: \"true\"\n        position: after:collectstatic\n" +
		"      - name: reload\n        run: \"true\"\n        position: replace:reload\n" +
		"      - name: static\n        run: \"true\"\n        position: replace:collectstatic\n" +
		"      - name: warm\n        run: \"true\"\n        position: after:compile-messages\n" +
		"      - name: notify\n        run: \"true\"\n"
	f, err := DecodeYAML("f.yaml", []byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	slots, _ := PlaceStages(f.Apps[0])
	var got []string
	for _, s := range slots {
		got = append(got, s.Name)
	}
	want := "upload shared build static compile-messages warm migrate switch reload health notify cleanup"
	if strings.Join(got, " ") != want {
		t.Errorf("order = %v\nwant %s", got, want)
	}
}

func TestYAMLBalancerOptions(t *testing.T) {
	tests := []struct {
		role, key, value string
		ok               bool
	}{
		{"web", "bind", "127.0.0.1:8000", true},
		{"web", "bind", "0.0.0.0:8000", true},
		{"web", "bind", "[::1]:8000", true},
		{"web", "bind", "app.internal:8000", true},
		{"web", "bind", "unix:/run/gunicorn/shop.sock", true},
		{"web", "bind", "127.0.0.1", false},
		{"web", "bind", "127.0.0.1:0", false},
		{"web", "bind", "127.0.0.1:99999", false},
		{"web", "bind", "127.0.0.1:80; include /etc/passwd", false},
		{"web", "bind", "unix:/run/x.sock;", false},
		{"web", "bind", "unix:relative.sock", false},
		{"web", "bind", "unix:/run/../etc/x", false},
		{"web", "bind", "10.0.0.1:8000\n}", false},
		{"web", "backend", "10.0.0.5:8080", true},
		{"web", "backend", "10.0.0.5:8080 backup", false},
		{"web", "backend", "unix:/run/app.sock", true},
		{"web", "server", "web1", true},
		{"web", "server", "web1 state ready", false},
		{"lb", "backend", "shop_app", true},
		{"lb", "backend", "shop/web1", false},
		{"lb", "backend", "shop\nshow info", false},
		{"lb", "upstream", "shop-app", true},
		{"lb", "upstream", "shop { server evil:80; }", false},
		{"lb", "upstream", "", false},
		{"lb", "upstream", strings.Repeat("u", 65), false},
		{"lb", "upstream_file", "/etc/nginx/conf.d/shop.conf", true},
	}
	for _, tt := range tests {
		t.Run(tt.role+"/"+tt.key+"="+tt.value, func(t *testing.T) {
			doc := fmt.Sprintf("roles:\n  %s:\n    options:\n      %s: %q\n", tt.role, tt.key, tt.value)
			_, err := DecodeYAML("f.yaml", []byte(doc))
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			want := fmt.Sprintf("f.yaml:4:7: roles.%s.options.%s: %s ", tt.role, tt.key, tt.key)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error = %v\nwant it to contain %q", err, want)
			}
			// A host's own settings are checked the same way.
			doc = fmt.Sprintf("hosts:\n  - name: h\n    address: 10.0.0.1\n    roles: [%s]\n    settings:\n      %s:\n        options:\n          %s: %q\n", tt.role, tt.role, tt.key, tt.value)
			if _, err := DecodeYAML("f.yaml", []byte(doc)); err == nil || !strings.Contains(err.Error(), "f.yaml:8:11: hosts[0].settings."+tt.role+".options."+tt.key) {
				t.Errorf("host settings: error = %v", err)
			}
		})
	}
}

// TestYAMLTypeAndValidationErrorsTogether checks that a value of the wrong
// type does not hide the other problems of the file.
func TestYAMLTypeAndValidationErrorsTogether(t *testing.T) {
	doc := "environments:\n  - name: staging\n" + // 1-2
		"apps:\n  - name: shop\n    repo: /src/shop\n    deploy_to: /srv/shop\n" + // 3-6
		"    shared: [../../current]\n" + // 7
		"    keep_releases: many\n" + // 8
		"    health:\n      url: http://127.0.0.1/\n      expect: ok $COMIT\n" + // 9-11
		"hosts:\n  - name: web1\n    address: 10.0.0.1\n    port: ssh\n" + // 12-15
		"    env: prod\n" + // 16
		"    rolse: [web]\n" + // 17
		"  - name: web2-\n    address: \"\"\n    roles: web\n" + // 18-20
		"  - just a string\n" // 21
	ps := decodeProblems(t, doc)
	want := []string{
		`f.yaml:7:14: apps[0].shared[0]: shared entry "../../current"`,
		`f.yaml:8:20: apps[0].keep_releases: expected a whole number, found "many"`,
		`f.yaml:11:15: apps[0].health.expect: expect "ok $COMIT": unknown variable $COMIT (did you mean $COMMIT?)`,
		`f.yaml:15:11: hosts[0].port: expected a whole number, found "ssh"`,
		`f.yaml:16:10: hosts[0].env: host "web1": unknown environment "prod"`,
		`f.yaml:17:5: hosts[0].rolse: unknown field "rolse"`,
		`f.yaml:19:14: hosts[1].address: host "web2-" has no address, and its name is not one ssh can resolve`,
		`f.yaml:20:12: hosts[1].roles: expected a list, found "web"`,
		`f.yaml:21:5: hosts[2]: expected a mapping of fields, found "just a string"`,
	}
	if len(ps) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(ps), len(want), ps)
	}
	for i, w := range want {
		if i >= len(ps) || !strings.HasPrefix(ps[i].Error(), w) {
			t.Errorf("problem %d = %v\nwant %s", i, ps, w)
			break
		}
	}
}

func TestYAMLExpectVariables(t *testing.T) {
	for _, tt := range []struct {
		expect string
		want   string // "" when accepted
	}{
		{"ok", ""},
		{"release=$RELEASE_ID", ""},
		{"${COMMIT}", ""},
		{"costs $5 or $$", ""},
		{"ok $COMIT", "unknown variable $COMIT (did you mean $COMMIT?)"},
		{"${RELASE_ID}", "unknown variable $RELASE_ID (did you mean $RELEASE_ID?)"},
		{"$HOST", "unknown variable $HOST (expect can name $RELEASE_ID and $COMMIT)"},
		{"${COMMIT", "unterminated ${"},
		{"${OPSUI_PYTHON:-x}", "unknown variable $OPSUI_PYTHON:-x"},
	} {
		doc := appHead + "    health:\n      url: http://127.0.0.1/\n      expect: " + fmt.Sprintf("%q", tt.expect) + "\n"
		_, err := DecodeYAML("f.yaml", []byte(doc))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q refused: %v", tt.expect, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), "f.yaml:7:15: apps[0].health.expect: ") || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: error = %v, want %q", tt.expect, err, tt.want)
		}
	}
}
