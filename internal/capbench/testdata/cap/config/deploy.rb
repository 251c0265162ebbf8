# The demo shop (internal/demoapp) deployed by Capistrano with the same work
# as opsui's django preset does it, per host:
#
#   stock Capistrano  git:check (git ls-remote), deploy:check (mkdir shared,
#                     releases, linked dirs), git:clone once, then
#                     git:update (git remote update of the host's mirror),
#                     git:create_release (git archive | tar into
#                     releases/<UTC timestamp>), REVISION,
#                     deploy:symlink:shared (logs/ from shared/)
#   capbench:venv     a virtualenv per release (/usr/bin/python3 -m venv
#                     --system-site-packages; requirements from the
#                     release's wheels/ when it ships them)
#   capbench:static   manage.py collectstatic on every web host
#   capbench:migrate  manage.py migrate, once, on the primary db host
#   stock Capistrano  deploy:symlink:release (ln -s + mv: an atomic switch)
#   capbench:reload   gunicorn HUP (started the first time, from deploy_to
#                     with --chdir on the current symlink, as opsui does)
#   capbench:health   curl from the host every 0.1 s until /health/ names
#                     the deployed commit
#   stock Capistrano  deploy:cleanup (keep 5), deploy:log_revision
#
# Everything the benchmark varies comes from CAPBENCH_* variables; every
# value put into a remote command is shell-escaped.
lock "~> 3.17"

def capbench_env(name)
  ENV.fetch(name) { abort "capbench: #{name} is not set (internal/capbench sets it)" }
end

set :application, "shop"
set :repo_url, capbench_env("CAPBENCH_REPO")
set :branch, "main"
set :deploy_to, capbench_env("CAPBENCH_DEPLOY_TO")
set :keep_releases, 5
set :linked_dirs, %w[logs]
# Each host's own home: /tmp is shared by every test host.
set :tmp_dir, capbench_env("CAPBENCH_TMP_DIR")
set :capbench_port, capbench_env("CAPBENCH_PORT")
set :capbench_workers, capbench_env("CAPBENCH_WORKERS")
set :log_level, :info

# capbench_sh runs script with sh -c on the host of the current `on` block.
def capbench_sh(script)
  execute :sh, "-c", script.shellescape
end

namespace :capbench do
  desc "Make the release's virtualenv"
  task :venv do
    on roles(:web) do
      capbench_sh <<~SH
        set -e
        cd #{release_path.to_s.shellescape}
        if [ -f requirements.txt ] && [ -d wheels ]; then
          /usr/bin/python3 -m venv --system-site-packages venv
          venv/bin/python -m pip install --no-index --find-links wheels -r requirements.txt
        else
          /usr/bin/python3 -m venv --system-site-packages --without-pip venv
        fi
        echo "virtualenv ready: $(venv/bin/python -c 'import sys; print(sys.version.split()[0])')"
      SH
    end
  end

  desc "Collect static files into the release"
  task :static do
    on roles(:web) do
      capbench_sh "cd #{release_path.to_s.shellescape} && venv/bin/python manage.py collectstatic --noinput"
    end
  end

  desc "Run the migrations once"
  task :migrate do
    on primary(:db) do
      capbench_sh "cd #{release_path.to_s.shellescape} && venv/bin/python manage.py migrate --noinput"
    end
  end

  desc "Reload gunicorn gracefully (HUP), or start it"
  task :reload do
    on roles(:web) do |host|
      deploy_to = fetch(:deploy_to).to_s
      current = current_path.to_s
      pidfile = shared_path.join("gunicorn.pid").to_s
      log = shared_path.join("logs", "gunicorn.log").to_s
      bind = "#{host.hostname}:#{fetch(:capbench_port)}"
      capbench_sh <<~SH
        pid=$(cat #{pidfile.shellescape} 2>/dev/null)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
          kill -HUP "$pid" && echo "gunicorn master $pid reloaded (HUP)"; exit
        fi
        cd #{deploy_to.shellescape} || exit 1
        current/venv/bin/python -m gunicorn --chdir #{current.shellescape} --pid #{pidfile.shellescape} --daemon \
          --bind #{bind.shellescape} --workers #{fetch(:capbench_workers).to_s.shellescape} \
          --error-logfile #{log.shellescape} -c #{(current + "/gunicorn.conf.py").shellescape} shopsite.wsgi
        for i in $(seq 1 40); do [ -s #{pidfile.shellescape} ] && exit 0; sleep 0.25; done
        echo "gunicorn did not start" >&2; tail -n 20 #{log.shellescape} >&2; exit 1
      SH
    end
  end

  desc "Wait until every web host serves the deployed commit"
  task :health do
    want = "commit=#{fetch(:current_revision)}"
    on roles(:web) do |host|
      url = "http://#{host.hostname}:#{fetch(:capbench_port)}/health/"
      capbench_sh <<~SH
        n=0
        while :; do
          n=$((n+1))
          body=$(curl -sS --max-time 5 -- #{url.shellescape} 2>&1) && case $body in *#{want.shellescape}*) echo "healthy after $n tries"; exit 0 ;; esac
          if [ "$n" -ge 600 ]; then echo "unhealthy after $n tries: $body" >&2; exit 1; fi
          sleep 0.1
        done
      SH
    end
  end
end

after "deploy:updated", "capbench:venv"
after "capbench:venv", "capbench:static"
after "capbench:static", "capbench:migrate"
after "deploy:published", "capbench:reload"
after "capbench:reload", "capbench:health"
