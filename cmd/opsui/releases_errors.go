package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// releaseErrorsFlag is opsui releases' --errors RELEASE.
func releaseErrorsFlag(cmd *cobra.Command, release *string) {
	cmd.Flags().StringVar(release, "errors", "", "list the new errors RELEASE brought: the error signatures first seen in it, and its watch verdict")
}

// releaseExtras are what --json adds to a release: the watch's typed
// verdict and the errors first seen in it.
type releaseExtras struct {
	Watch     *store.ReleaseWatch    `json:"watch,omitempty"`
	NewErrors []store.ErrorSignature `json:"new_errors,omitempty"`
}

func releaseExtrasOf(ctx context.Context, svc *ops.Service, r store.Release) (releaseExtras, error) {
	var x releaseExtras
	w, ok, err := svc.ReleaseWatch(ctx, r.App, r.Env, r.ReleaseID)
	if err != nil {
		return x, err
	}
	if ok {
		x.Watch = &w
	}
	if r.Kind != store.KindDeploy {
		return x, nil
	}
	news, err := svc.NewErrors(ctx, r.App, r.Env, r.ReleaseID)
	for _, n := range news {
		x.NewErrors = append(x.NewErrors, n.ErrorSignature)
	}
	return x, err
}

// printWatchNotes prints the watch verdict of each release of rs that
// has one, under the table as the safety notes are.
func (c *cli) printWatchNotes(ctx context.Context, svc *ops.Service, rs []store.Release) error {
	for _, r := range rs {
		w, ok, err := svc.ReleaseWatch(ctx, r.App, r.Env, r.ReleaseID)
		if err != nil {
			return err
		}
		if ok && r.Kind == store.KindDeploy {
			fmt.Fprintf(c.stdout, "%s %s/%s: %s\n", r.ReleaseID, r.App, r.Env, ops.WatchWords(w))
		}
	}
	return nil
}

// printReleaseErrors prints what release id of rs (the releases listed
// for the flags) brought: its watch verdict and its new errors.
func (c *cli) printReleaseErrors(ctx context.Context, svc *ops.Service, rs []store.Release, id string) error {
	var found []store.Release
	for _, r := range rs {
		if r.ReleaseID == id && r.Kind == store.KindDeploy {
			found = append(found, r)
		}
	}
	switch {
	case len(found) == 0:
		return inputError{fmt.Errorf("--errors %s: no deploy of that release is recorded (opsui releases lists them)", id)}
	case len(found) > 1:
		return usageError{fmt.Errorf("--errors %s: %s and %s/%s both have it: give --app and --env", id,
			found[0].App+"/"+found[0].Env, found[1].App, found[1].Env)}
	}
	r := found[0]
	fmt.Fprintf(c.stdout, "release %s of %s/%s (%s %s)\n", r.ReleaseID, r.App, r.Env, deploy.ShortCommit(r.Commit), r.Subject)
	if w, ok, err := svc.ReleaseWatch(ctx, r.App, r.Env, r.ReleaseID); err != nil {
		return err
	} else if ok {
		fmt.Fprintln(c.stdout, ops.WatchWords(w))
	}
	news, err := svc.NewErrors(ctx, r.App, r.Env, r.ReleaseID)
	if err != nil {
		return err
	}
	if len(news) == 0 {
		fmt.Fprintf(c.stdout, "no new error first seen in %s\n", r.ReleaseID)
		return nil
	}
	fmt.Fprintf(c.stdout, "%s first seen in %s:\n", deploy.Plural(len(news), "new error", "new errors"), r.ReleaseID)
	for _, n := range news {
		fmt.Fprintf(c.stdout, "  %s\n", ops.NewErrorWords(n))
	}
	return nil
}
