package ops

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestRefsRunGitAsReleasesAreCut: the wizard's ref listing runs git
// the way a release is cut (deploy.GitOutput): never prompting for
// credentials, in the C locale, whatever the operator's environment says.
func TestRefsRunGitAsReleasesAreCut(t *testing.T) {
	bin := t.TempDir()
	// A git that answers for-each-ref with one branch whose subject is
	// the environment it ran in.
	script := "#!/bin/sh\ncase \"$3\" in for-each-ref) printf 'refs/heads/main\\000abc\\000\\000%s %s\\000me\\0001700000000\\000\\000\\n' \"$GIT_TERMINAL_PROMPT\" \"$LC_ALL\";; esac\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("GIT_TERMINAL_PROMPT", "1")
	t.Setenv("LC_ALL", "de_DE.UTF-8")
	refs, err := gitRefs(context.Background(), t.TempDir())
	if err != nil || len(refs) != 1 {
		t.Fatalf("refs %+v %v", refs, err)
	}
	if refs[0].Name != "main" || refs[0].Subject != "0 C" {
		t.Errorf("git ran with GIT_TERMINAL_PROMPT and LC_ALL %q, want \"0 C\"", refs[0].Subject)
	}
}
