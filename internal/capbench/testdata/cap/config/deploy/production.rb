# The hosts of one benchmark size: CAPBENCH_SERVERS names a file of
# "address port" lines written by internal/capbench. The first host is the
# primary db host (migrations run there once), as opsui's migration host is
# the first web host.
File.readlines(capbench_env("CAPBENCH_SERVERS"), chomp: true).reject(&:empty?).each_with_index do |line, i|
  address, port = line.split
  server address, port: Integer(port), user: capbench_env("CAPBENCH_USER"),
                  roles: i.zero? ? %w[web app db] : %w[web app], primary: i.zero?
end

# The same client key and known_hosts as opsui, nothing else: no agent, no
# ~/.ssh/config, an unknown or changed host key refused.
set :ssh_options, {
  keys: [capbench_env("CAPBENCH_KEY")],
  keys_only: true,
  use_agent: false,
  config: false,
  auth_methods: %w[publickey],
  user_known_hosts_file: capbench_env("CAPBENCH_KNOWN_HOSTS"),
  global_known_hosts_file: File::NULL,
  verify_host_key: :always,
  timeout: 10,
}
