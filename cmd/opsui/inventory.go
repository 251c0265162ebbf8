package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/store"
)

func newInventoryCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "inventory",
		Aliases: []string{"inv"},
		Short:   "List, import, export and edit the fleet",
	}
	cmd.AddCommand(newInventoryListCmd(c), newInventoryImportCmd(c), newInventoryExportCmd(c),
		newInventoryAddCmd(c), newInventoryRmCmd(c), newInventorySetCmd(c))
	return cmd
}

func newInventoryListCmd(c *cli) *cobra.Command {
	var flt inventory.Filter
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List hosts (role \"unassigned\" lists hosts with no role and no environment)",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, _ []string) error {
		f, err := s.LoadFleet(ctx)
		if err != nil {
			return err
		}
		if flt.Env != "" {
			if _, ok := f.Environment(flt.Env); !ok {
				return unknownName("environment", flt.Env, ops.EnvNames(f))
			}
		}
		hosts := f.Select(flt)
		if asJSON {
			if hosts == nil {
				hosts = []inventory.Host{}
			}
			return writeJSON(c.stdout, hosts)
		}
		return writeHostTable(c.stdout, hosts)
	})
	cmd.Flags().StringVar(&flt.Role, "role", "", "only hosts with this role")
	cmd.Flags().StringVar(&flt.Env, "env", "", "only hosts in this environment")
	cmd.Flags().StringVar(&flt.Tag, "tag", "", "only hosts with this tag")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func writeHostTable(w io.Writer, hosts []inventory.Host) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tADDRESS\tUSER\tENV\tROLES\tTAGS")
	for _, h := range hosts {
		roles, env := strings.Join(h.Roles, ","), h.Env
		if h.Unassigned() {
			roles = "(unassigned)"
		}
		addr := h.Address
		if h.Port != 0 {
			addr = h.DialAddress()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", h.Name, addr, dash(h.User), dash(env), dash(roles), dash(strings.Join(h.Tags, ",")))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newInventoryImportCmd(c *cli) *cobra.Command {
	var (
		dryRun    bool
		sshConfig string
		ansible   string
		env       string
		roles     []string
		envGroups []string
	)
	cmd := &cobra.Command{
		Use:   "import [FILE | --from-ssh-config PATH | --from-ansible PATH]",
		Short: "Import a fleet file (replacing the inventory), or merge hosts from ssh_config or Ansible",
		Long: `Import a YAML fleet file: the inventory becomes exactly what the file says
(hosts it lacks are removed). "-" reads standard input.

--from-ssh-config and --from-ansible add or update hosts and never remove any.
Every import is all or nothing: nothing is written if any part is invalid.`,
		Args: cobra.MaximumNArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			sources := len(args)
			for _, flag := range []string{sshConfig, ansible} {
				if flag != "" {
					sources++
				}
			}
			if sources != 1 {
				return usageError{errors.New("give exactly one of FILE, --from-ssh-config or --from-ansible")}
			}
			if len(args) == 1 && (env != "" || len(roles) > 0) {
				return usageError{errors.New("--env and --role apply to --from-ssh-config and --from-ansible; a fleet file says it all")}
			}
			return nil
		},
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, args []string) error {
		next, err := s.UpdateFleet(ctx, func(f *inventory.Fleet) error {
			old := f.Clone()
			switch {
			case len(args) == 1:
				n, err := readFleetFile(c, args[0])
				if err != nil {
					return err
				}
				*f = *n
			case sshConfig != "":
				hosts, err := readSSHConfig(sshConfig, inventory.SSHConfigOptions{Env: env, Roles: roles})
				if err != nil {
					return err
				}
				f.Merge(hosts, nil)
			default:
				hosts, envs, err := readAnsible(ansible, inventory.AnsibleOptions{EnvGroups: envGroups, KnownEnvs: ops.EnvNames(f)})
				if err != nil {
					return err
				}
				for i := range hosts {
					if env != "" {
						hosts[i].Env = env
					}
					hosts[i].Roles = appendNew(hosts[i].Roles, roles...)
				}
				f.Merge(hosts, envs)
			}
			if err := inventory.Validate(f); err != nil {
				return err
			}
			fmt.Fprint(c.stdout, inventory.Diff(old, f))
			if dryRun {
				return errDryRun
			}
			return nil
		})
		if errors.Is(err, errDryRun) {
			fmt.Fprintln(c.stdout, "dry run: nothing written")
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "inventory now has %d hosts in %d environments\n", len(next.Hosts), len(next.Environments))
		return nil
	})
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would change and write nothing")
	cmd.Flags().StringVar(&sshConfig, "from-ssh-config", "", "merge the concrete Host entries of an OpenSSH client config")
	cmd.Flags().StringVar(&ansible, "from-ansible", "", "merge the hosts of an Ansible INI inventory")
	cmd.Flags().StringVar(&env, "env", "", "environment for the imported hosts (ssh_config, Ansible)")
	cmd.Flags().StringSliceVar(&roles, "role", nil, "role(s) for the imported hosts (ssh_config, Ansible)")
	cmd.Flags().StringSliceVar(&envGroups, "env-groups", nil, "Ansible groups that are environments (default: production, staging, ... and known ones)")
	return cmd
}

// errDryRun rolls back the import transaction after the diff is shown.
var errDryRun = errors.New("dry run")

func readFleetFile(c *cli, name string) (*inventory.Fleet, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(c.stdin)
		name = "<stdin>"
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read fleet file: %w", err)
	}
	return inventory.DecodeYAML(name, data)
}

func readSSHConfig(path string, opt inventory.SSHConfigOptions) ([]inventory.Host, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read ssh config: %w", err)
	}
	defer f.Close()
	return inventory.ParseSSHConfig(path, f, opt)
}

func readAnsible(path string, opt inventory.AnsibleOptions) ([]inventory.Host, []inventory.Environment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read Ansible inventory: %w", err)
	}
	defer f.Close()
	return inventory.ParseAnsibleINI(path, f, opt)
}

func newInventoryExportCmd(c *cli) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the inventory as a fleet file (to standard output unless -o)",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, _ []string) error {
		f, err := s.LoadFleet(ctx)
		if err != nil {
			return err
		}
		b, err := inventory.EncodeYAML(f)
		if err != nil {
			return err
		}
		if output == "" || output == "-" {
			_, err = c.stdout.Write(b)
			return err
		}
		return writeFileAtomic(output, b)
	})
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file (replaced atomically)")
	return cmd
}

// writeFileAtomic writes through a temporary file and a rename, so a full
// disk or a crash never leaves half a fleet file behind.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".opsui-export-*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("export %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	return nil
}

// hostFlags are the per-host fields add and set accept.
type hostFlags struct {
	h                 inventory.Host
	addRoles, rmRoles []string
	addTags, rmTags   []string
}

func (hf *hostFlags) register(cmd *cobra.Command, forSet bool) {
	fs := cmd.Flags()
	fs.StringVar(&hf.h.Address, "address", "", "IP address or DNS name")
	fs.IntVar(&hf.h.Port, "port", 0, "SSH port (default: ~/.ssh/config, then 22)")
	fs.StringVar(&hf.h.User, "user", "", "SSH user (default: ~/.ssh/config, then your user)")
	fs.StringVar(&hf.h.Env, "env", "", "environment")
	fs.StringSliceVar(&hf.h.Roles, "role", nil, "role(s), e.g. --role web,db-migrate")
	fs.StringSliceVar(&hf.h.Tags, "tag", nil, "tag(s)")
	fs.StringVar(&hf.h.DeployTo, "deploy-to", "", "deploy directory, overriding the app's")
	fs.StringVar(&hf.h.IdentityFile, "identity-file", "", "private key to use")
	fs.StringVar(&hf.h.ProxyJump, "proxy-jump", "", "jump host(s), as ssh -J")
	fs.BoolVar(&hf.h.ForwardAgent, "forward-agent", false, "forward the SSH agent to this host")
	if forSet {
		fs.StringSliceVar(&hf.addRoles, "add-role", nil, "add role(s)")
		fs.StringSliceVar(&hf.rmRoles, "rm-role", nil, "remove role(s)")
		fs.StringSliceVar(&hf.addTags, "add-tag", nil, "add tag(s)")
		fs.StringSliceVar(&hf.rmTags, "rm-tag", nil, "remove tag(s)")
	}
}

// apply copies onto h the fields whose flags were given.
func (hf *hostFlags) apply(cmd *cobra.Command, h *inventory.Host) {
	set := func(name string) bool { return cmd.Flags().Changed(name) }
	if set("address") {
		h.Address = hf.h.Address
	}
	if set("port") {
		h.Port = hf.h.Port
	}
	if set("user") {
		h.User = hf.h.User
	}
	if set("env") {
		h.Env = hf.h.Env
	}
	if set("role") {
		h.Roles = hf.h.Roles
	}
	if set("tag") {
		h.Tags = hf.h.Tags
	}
	if set("deploy-to") {
		h.DeployTo = hf.h.DeployTo
	}
	if set("identity-file") {
		h.IdentityFile = hf.h.IdentityFile
	}
	if set("proxy-jump") {
		h.ProxyJump = hf.h.ProxyJump
	}
	if set("forward-agent") {
		h.ForwardAgent = hf.h.ForwardAgent
	}
	h.Roles = appendNew(h.Roles, hf.addRoles...)
	h.Roles = slices.DeleteFunc(h.Roles, func(r string) bool { return slices.Contains(hf.rmRoles, r) })
	h.Tags = appendNew(h.Tags, hf.addTags...)
	h.Tags = slices.DeleteFunc(h.Tags, func(t string) bool { return slices.Contains(hf.rmTags, t) })
	if len(h.Roles) == 0 {
		h.Roles = nil
	}
	if len(h.Tags) == 0 {
		h.Tags = nil
	}
	// Settings of a role the host no longer has would fail validation.
	for role := range h.Settings {
		if !h.HasRole(role) {
			delete(h.Settings, role)
		}
	}
	if len(h.Settings) == 0 {
		h.Settings = nil
	}
}

func appendNew(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

func newInventoryAddCmd(c *cli) *cobra.Command {
	var hf hostFlags
	cmd := &cobra.Command{
		Use:   "add NAME --address ADDR [flags]",
		Short: "Add one host",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, args []string) error {
		_, err := s.UpdateFleet(ctx, func(f *inventory.Fleet) error {
			if _, ok := f.Host(args[0]); ok {
				return fmt.Errorf("host %q already exists (use opsui inventory set to change it)", args[0])
			}
			h := inventory.Host{Name: args[0]}
			hf.apply(cmd, &h)
			f.Hosts = append(f.Hosts, h)
			return nil
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "added host %s\n", args[0])
		return nil
	})
	hf.register(cmd, false)
	_ = cmd.MarkFlagRequired("address")
	return cmd
}

func newInventoryRmCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rm NAME...",
		Short: "Remove hosts (their run and release history is kept)",
		Args:  cobra.MinimumNArgs(1),
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, args []string) error {
		_, err := s.UpdateFleet(ctx, func(f *inventory.Fleet) error {
			for _, name := range args {
				if _, ok := f.Host(name); !ok {
					return unknownName("host", name, ops.HostNames(f))
				}
			}
			f.Hosts = slices.DeleteFunc(f.Hosts, func(h inventory.Host) bool { return slices.Contains(args, h.Name) })
			return nil
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "removed %s\n", strings.Join(args, ", "))
		return nil
	})
	return cmd
}

func newInventorySetCmd(c *cli) *cobra.Command {
	var hf hostFlags
	cmd := &cobra.Command{
		Use:   "set NAME [flags]",
		Short: "Change fields of one host (only the flags given)",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, args []string) error {
		if cmd.Flags().NFlag() == 0 {
			return usageError{errors.New("nothing to set: give at least one flag (see --help)")}
		}
		var changed inventory.Changes
		_, err := s.UpdateFleet(ctx, func(f *inventory.Fleet) error {
			i := slices.IndexFunc(f.Hosts, func(h inventory.Host) bool { return h.Name == args[0] })
			if i < 0 {
				return unknownName("host", args[0], ops.HostNames(f))
			}
			old := f.Clone()
			hf.apply(cmd, &f.Hosts[i])
			changed = inventory.Diff(old, f)
			return nil
		})
		if err != nil {
			return err
		}
		fmt.Fprint(c.stdout, changed)
		return nil
	})
	hf.register(cmd, true)
	return cmd
}

// unknownName is the error for a name that is not in the inventory, with a
// suggestion when one is close.
func unknownName(kind, name string, known []string) error {
	return inputError{&ops.UnknownNameError{Kind: kind, Name: name, Known: known}}
}
