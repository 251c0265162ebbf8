package ui

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/themes"
)

// docs/KEYS.md is generated from the key table; a change to the keys
// that leaves it stale fails here.
func TestKeyReferenceIsCurrent(t *testing.T) {
	path := filepath.Join("..", "docs", "KEYS.md")
	got := KeyReference()
	if updateGolden() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./ui -run TestKeyReference -update writes it)", err)
	}
	if string(want) != got {
		t.Errorf("docs/KEYS.md is stale: go test ./ui -run TestKeyReference -update\n%s", firstDiff(string(want), got))
	}
}

// firstDiff shows the first line where want and got part.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  file  %s\n  table %s", i+1, w, g)
		}
	}
	return ""
}

// No handler matches a key literal: keys are matched through the key
// table's bindings (key.Matches), which the config file can rebind and
// the help lists. Only keys.go and logs/keys.go (the logs view's part of
// the table) name keys; the sub-packages' handlers are checked too.
func TestNoKeyLiteralsInHandlers(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := filepath.Glob("*/*.go")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, sub...)
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") || path == "keys.go" || path == filepath.Join("logs", "keys.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		var found []string
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BinaryExpr: // km.String() == "esc"
				if (n.Op == token.EQL || n.Op == token.NEQ) && (isStringCall(n.X) && isStringLit(n.Y) || isStringCall(n.Y) && isStringLit(n.X)) {
					found = append(found, fset.Position(n.Pos()).String())
				}
			case *ast.SwitchStmt: // switch km.String() { case "enter": }
				if n.Tag != nil && isStringCall(n.Tag) {
					found = append(found, fset.Position(n.Pos()).String())
				}
			case *ast.CallExpr: // key.NewBinding(key.WithKeys("enter")) made on the spot
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "WithKeys" {
					found = append(found, fset.Position(n.Pos()).String())
				}
			}
			return true
		})
		for _, at := range found {
			t.Errorf("%s: a key literal; match a binding of the key table (ui/keys.go)", at)
		}
	}
}

// isStringCall reports whether e is x.String() — a key press's name.
func isStringCall(e ast.Expr) bool {
	c, ok := e.(*ast.CallExpr)
	if !ok || len(c.Args) != 0 {
		return false
	}
	sel, ok := c.Fun.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "String"
}

func isStringLit(e ast.Expr) bool {
	l, ok := e.(*ast.BasicLit)
	return ok && l.Kind == token.STRING
}

// Every binding of the KeyMap is an entry of the key table, so the
// config file can rebind it, conflicts are checked and the help and
// docs/KEYS.md list it. The logs view's moves and help are the
// console's (logsKeys), so not entries of their own.
func TestEveryBindingIsInTheKeyTable(t *testing.T) {
	k := DefaultKeyMap()
	inTable := map[*key.Binding]bool{}
	for _, a := range k.actions() {
		if inTable[a.b] {
			t.Errorf("%s: a binding listed twice", a.name)
		}
		inTable[a.b] = true
		if a.b.Help().Desc == "" || len(a.b.Keys()) == 0 {
			t.Errorf("%s: no keys or no description", a.name)
		}
	}
	shared := map[string]bool{"Up": true, "Down": true, "PageUp": true, "PageDown": true, "Top": true, "Bottom": true, "Help": true}
	check := func(v reflect.Value, prefix string, skip map[string]bool) {
		for i := range v.NumField() {
			name := v.Type().Field(i).Name
			if b, ok := v.Field(i).Addr().Interface().(*key.Binding); ok && !skip[name] && !inTable[b] {
				t.Errorf("%s%s is not in the key table (KeyMap.actions)", prefix, name)
			}
		}
	}
	check(reflect.ValueOf(&k).Elem(), "", nil)
	check(reflect.ValueOf(&k.LogsView).Elem(), "LogsView.", shared)
}

// The sub-packages' keys (ui/run, ui/fleet, ui/flows) are the key table's own
// bindings, each field bound: one left out would be a key that does
// nothing, and one bound elsewhere could not be rebound. A rebinding in
// the config reaches them.
func TestSubPackageKeysComeFromTheKeyTable(t *testing.T) {
	k := DefaultKeyMap()
	if !k.rebind("next_failed", []string{"]"}) || !k.rebind("filter", []string{"ctrl+f"}) {
		t.Fatal("rebind refused")
	}
	same := func(a, b key.Binding) bool {
		return reflect.DeepEqual(a.Keys(), b.Keys()) && a.Help() == b.Help()
	}
	for name, km := range map[string]any{"run": k.runKeys(), "run list": k.listKeys(), "fleet": k.fleetKeys(),
		"flows": k.flowKeys(), "flows' run": k.flowKeys().Run} {
		v := reflect.ValueOf(km)
		for i := range v.NumField() {
			b, ok := v.Field(i).Interface().(key.Binding)
			if !ok {
				continue
			}
			found := false
			for _, a := range k.actions() {
				found = found || len(b.Keys()) > 0 && same(b, *a.b)
			}
			if !found {
				t.Errorf("%s keys: %s (%v) is not a binding of the key table", name, v.Type().Field(i).Name, b.Keys())
			}
		}
	}
	if got := k.runKeys().NextFailed.Keys(); !reflect.DeepEqual(got, []string{"]"}) {
		t.Errorf("the run view's next_failed after a rebind: %v", got)
	}
	if got := k.flowKeys().Run.NextFailed.Keys(); !reflect.DeepEqual(got, []string{"]"}) {
		t.Errorf("a flow's run view's next_failed after a rebind: %v", got)
	}
	if got := k.flowKeys().Filter.Keys(); !reflect.DeepEqual(got, []string{"ctrl+f"}) {
		t.Errorf("the flows' filter after a rebind: %v", got)
	}
	if got := k.fleetKeys().Filter.Keys(); !reflect.DeepEqual(got, []string{"ctrl+f"}) {
		t.Errorf("the fleet's filter after a rebind: %v", got)
	}
}

// ctrl+c quits from every view, while text is typed too, handled once
// by the root: before, the command prompt swallowed it. A flow that is
// shown but not running quits too (a running one asks: flows_quit_test).
func TestCtrlCQuitsFromEveryView(t *testing.T) {
	views := everyView(t, 120, 30)
	views["logs"] = openTestLogs(t)
	logsTyping, _ := typeLogs(t, openTestLogs(t), keys("/", "err")...)
	views["logs search"] = logsTyping
	d := newFlowDriver(t, newFakeFlows(sampleFleet(t)).fns(), nil)
	d.press("R")
	d.see("which app, in which environment?")
	views["releases"] = d.a
	for name, a := range views {
		t.Run(name, func(t *testing.T) {
			_, cmd := a.Update(keys("ctrl+c")[0])
			if cmd == nil {
				t.Fatal("ctrl+c does nothing")
			}
			if _, ok := cmd().(tea.QuitMsg); !ok {
				t.Fatal("ctrl+c does not quit")
			}
		})
	}
	// Quitting from the logs view stops following them.
	a := openTestLogs(t)
	ctx := a.logs.stop
	stopped := false
	a.logs.stop = func() { stopped = true; ctx() }
	a.Update(keys("ctrl+c")[0])
	if !stopped {
		t.Error("ctrl+c left the logs followed")
	}
}

// ? lists the keys of the view it is pressed in, each from the key table
// with its text there, and no key of another view.
func TestHelpListsTheKeysOfItsView(t *testing.T) {
	views := everyView(t, 200, 60)
	views["logs"] = openTestLogs(t)
	d := newFlowDriver(t, newFakeFlows(sampleFleet(t)).fns(), nil)
	d.press("R")
	d.see("which app, in which environment?")
	views["releases"] = d.a
	d = newFlowDriver(t, newFakeFlows(sampleFleet(t)).fns(), nil)
	d.press("m")
	pickEnv(t, d, "staging")
	views["migrate"] = d.a
	want := map[string]scope{"fleet": scopeFleet, "grid run": scopeRun, "past runs": scopeRuns, "replay": scopeRun,
		"logs": scopeLogs, "releases": scopeReleases, "migrate": scopeFlow}
	for name, s := range want {
		t.Run(name, func(t *testing.T) {
			a := views[name]
			a.ctx.Width, a.ctx.Height = 200, 60
			a = press(t, a, "?")
			if !a.showHelp || a.helpScope() != s {
				t.Fatalf("? shows help %v of scope %d, want %d", a.showHelp, a.helpScope(), s)
			}
			view := viewText(a)
			for _, g := range a.keys.inScope(s) {
				for _, b := range g {
					if !strings.Contains(view, b.Help().Key) || !strings.Contains(view, b.Help().Desc) {
						t.Errorf("help lacks %q %q", b.Help().Key, b.Help().Desc)
					}
				}
			}
			if s != scopeFleet && strings.Contains(view, a.keys.Deploy.Help().Desc) {
				t.Errorf("help of %s lists the fleet's keys:\n%s", name, view)
			}
		})
	}
}

// A key that does nothing now says why, when pressed and in the help;
// the footer offers only the keys that work now.
func TestOffKeysSayWhy(t *testing.T) {
	f := sampleFleet(t)
	a := New(Options{Theme: themes.Dark().WithoutColor(), ReadOnly: true, Exec: scriptedExec(nil, 1),
		LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil }})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 200, Height: 40})
	if footer := viewText(a)[strings.LastIndex(viewText(a), "\n")+1:]; strings.Contains(footer, "x run") || !strings.Contains(footer, "? help") {
		t.Errorf("footer: %q", footer)
	}
	a = press(t, a, "x")
	if a.mode != modeFleet || !strings.Contains(viewText(a), "read-only: commands are disabled") {
		t.Errorf("x in read-only mode: mode %d\n%s", a.mode, viewText(a))
	}
	a = press(t, a, "?")
	for _, want := range []string{"run a command (off: read-only: commands are disabled)", "past runs (off: past runs are not available here)",
		"back to the running flow, or the last run (off: no run yet)", "follow logs (off: following logs is not available here)"} {
		if !strings.Contains(viewText(a), want) {
			t.Errorf("help lacks %q:\n%s", want, viewText(a))
		}
	}
	// o with no run yet is the fleet's (no notice), as before.
	a.notice = ""
	a = press(t, a, "esc", "o")
	if a.notice != "" || a.mode != modeFleet {
		t.Errorf("o with no run: notice %q mode %d", a.notice, a.mode)
	}
}

// ctrl+c and the dialogs' keys are not for the config file; quit bound to ctrl+c as well, as
// it was by default, is still accepted.
func TestForceQuitIsFixed(t *testing.T) {
	if _, err := parseConfig("config.yaml", []byte("keys:\n  force_quit: Q\n")); err == nil || !strings.Contains(err.Error(), `config.yaml:2: force_quit cannot be rebound`) {
		t.Errorf("force_quit rebound: %v", err)
	}
	cfg, err := parseConfig("config.yaml", []byte("keys:\n  quit: [q, ctrl+c]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if km, err := cfg.KeyMap(); err != nil || !key.Matches(keys("ctrl+c")[0].(tea.KeyPressMsg), km.ForceQuit) {
		t.Errorf("quit: [q, ctrl+c]: %v", err)
	}
	if _, err := parseConfig("config.yaml", []byte("keys:\n  trust: enter\n")); err == nil || !strings.Contains(err.Error(), "trust cannot be rebound") {
		t.Errorf("trust rebound: %v", err)
	}
	if _, err := parseConfig("config.yaml", []byte("keys:\n  deploy: ctrl+c\n")); err == nil || !strings.Contains(err.Error(), `key "ctrl+c" is bound to both force_quit and deploy`) {
		t.Errorf("deploy on ctrl+c: %v", err)
	}
}
