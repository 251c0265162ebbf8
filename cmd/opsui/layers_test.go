package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestHeadlessCommandsDoNotImportUI: the headless commands print through
// cmd/opsui's own printers; only the console command (root.go starts it,
// console*.go wire it) imports the TUI.
func TestHeadlessCommandsDoNotImportUI(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"root.go": true}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || strings.HasPrefix(f, "console") || allowed[f] {
			continue
		}
		checked++
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/opsui/opsui/ui" {
				t.Errorf("%s imports the TUI package ui: a headless command must not", f)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d files checked: run from cmd/opsui", checked)
	}
}

// TestCommandsDoNotRecordRuns: every recorded operation starts and
// finishes its own run below cmd (ops.Service.Record), so the CLI and the
// console record the same; cmd/opsui neither starts a recorder nor runs
// the engine's unrecorded operations itself.
func TestCommandsDoNotRecordRuns(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	banned := map[string]bool{"record.StartRecorder": true, "remote.Run": true, "remote.Upload": true, "cache.Flush": true, "logs.Tail": true}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		checked++
		fset := token.NewFileSet()
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && banned[x.Name+"."+sel.Sel.Name] || sel.Sel.Name == "StartRecorder" {
				t.Errorf("%s: %s.%s: an operation records its own run below cmd (ops.Service)", fset.Position(sel.Pos()), sel.X, sel.Sel.Name)
			}
			return true
		})
	}
	if checked < 10 {
		t.Fatalf("only %d files checked: run from cmd/opsui", checked)
	}
}

// TestCommandsDoNotPlan: deploys, rollbacks and migrates are planned,
// wired and run by the service (ops.Service: PlanDeploy/PreviewDeploy and
// Deploy, PlanRollback/PreviewRollback and Rollback, PlanMigrate/
// PreviewMigrate and Migrate), which runs the plan as previewed (checked
// against the fleet first), so the CLI and the console plan, wire and
// record alike and run what the operator confirmed: cmd/opsui neither
// makes a plan, nor chooses a rollback's release, nor builds a Deployer
// (so it cannot run a plan unchecked), nor records a run.
func TestCommandsDoNotPlan(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	banned := map[string]bool{"deploy.NewPlan": true, "deploy.ChooseRollback": true, "deploy.PreviewDeploy": true,
		"deploy.PreviewRollback": true, "deploy.PreviewMigrate": true, "deploy.NewDeployer": true, "deploy.Deployer": true,
		"record.StartRecorder": true}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		checked++
		fset := token.NewFileSet()
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && banned[x.Name+"."+sel.Sel.Name] {
					t.Errorf("%s: %s.%s: deploys, rollbacks and migrates are planned and run by ops.Service", fset.Position(sel.Pos()), x.Name, sel.Sel.Name)
				}
			}
			return true
		})
	}
	if checked < 10 {
		t.Fatalf("only %d files checked: run from cmd/opsui", checked)
	}
}

// TestImportsFlowDown: every package of the product imports only the
// layers below its own (docs/ARCHITECTURE.md): the engine knows no
// operation, the subjects (deploy, cache, logs) never call the service
// above them, the console's sub-packages never reach back to its root,
// and nothing imports cmd or the internal test harnesses (the demo
// command alone serves the demo fleet).
func TestImportsFlowDown(t *testing.T) {
	const mod = "github.com/opsui/opsui/"
	// may says which of the module's packages pkg may import.
	may := func(pkg, imp string) bool {
		under := func(p, parent string) bool { return p == parent || strings.HasPrefix(p, parent+"/") }
		switch {
		case pkg == "cmd/opsui" && (imp == "internal/demofleet" || imp == "internal/demoapp"):
			return true // the demo command serves the demo fleet
		case strings.HasPrefix(imp, "internal/"), under(imp, "cmd"):
			return false
		case pkg == "inventory", pkg == "themes":
			return false
		case pkg == "store":
			return imp == "inventory"
		case pkg == "ops/remote", pkg == "ops/notify":
			return imp == "inventory"
		case pkg == "ops/record":
			return imp == "ops/remote" || imp == "store" || imp == "inventory"
		case under(pkg, "ops") && pkg != "ops": // the subjects
			return under(imp, "ops") && imp != "ops" && !strings.HasPrefix(imp, pkg) || imp == "store" || imp == "inventory"
		case pkg == "ops":
			return under(imp, "ops") && imp != "ops" || imp == "store" || imp == "inventory"
		case pkg == "ui/common":
			return imp == "themes"
		case under(pkg, "ui") && pkg != "ui": // the console's components
			return !under(imp, "ui") || (under(imp, "ui") && imp != "ui")
		case pkg == "ui":
			return !under(imp, "cmd")
		}
		return true
	}
	root := filepath.Join("..", "..")
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && strings.HasPrefix(d.Name(), ".") || rel == "internal" || rel == "scripts" || rel == "docs" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		pkg := filepath.ToSlash(filepath.Dir(rel))
		af, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, spec := range af.Imports {
			p, _ := strconv.Unquote(spec.Path.Value)
			if !strings.HasPrefix(p, mod) {
				continue
			}
			if imp := strings.TrimPrefix(p, mod); !may(pkg, imp) {
				t.Errorf("%s imports %s: %s may not (imports flow down: docs/ARCHITECTURE.md)", rel, imp, pkg)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("only %d files checked", checked)
	}
}
