/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket: a unix stream socket, one JSON request line per
 * connection ({"cmd": "stats"}), one JSON reply line. Served from the control
 * lcore's idle poll(), so a request never races with a reload.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "cluster_agent.h"
#include "control.h"

#define CTL_MAX_REQUEST 65536

static int listen_fd = -1;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static int
mkdir_parents(const char *path)
{
	char dir[PATH_MAX];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (p == NULL || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int
eqx_ctlsock_open(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	rc = mkdir_parents(path);
	if (rc != 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0660) != 0 ||
	    listen(fd, 16) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	listen_fd = fd;
	strcpy(sock_path, path);
	return 0;
}

void
eqx_ctlsock_close(void)
{
	if (listen_fd < 0)
		return;
	close(listen_fd);
	unlink(sock_path);
	listen_fd = -1;
}

static json_t *
reply_error(const char *msg)
{
	return json_pack("{s:s, s:s}", "result", "error", "error", msg);
}

static json_t *
reply_ok(json_t *data)
{
	json_t *r = json_pack("{s:s}", "result", "ok");

	if (data != NULL)
		json_object_set_new(r, "data", data);
	return r;
}

static json_t *
do_reload(struct eqx_app *app)
{
	char *errs = NULL;
	json_t *r;

	if (eqx_reload(app, &errs) == 0)
		return reply_ok(json_pack("{s:s, s:I}", "result", "ok", "generation",
					  (json_int_t)app->generation));
	r = reply_error("configuration rejected; the running generation is unchanged");
	json_object_set_new(r, "errors", json_string(errs != NULL ? errs : ""));
	free(errs);
	return r;
}

/* {"cmd":"backend-set","vip":V,"backend":A,"weight":N,"state":S}: until the next reload. */
static json_t *
do_backend_set(struct eqx_app *app, json_t *req)
{
	const char *vip = json_string_value(json_object_get(req, "vip"));
	const char *addr = json_string_value(json_object_get(req, "backend"));
	json_t *jw = json_object_get(req, "weight"), *js = json_object_get(req, "state");
	struct eqx_override ov;
	enum cfg_backend_state st;
	int id;

	if (vip == NULL || addr == NULL)
		return reply_error("backend-set needs \"vip\" and \"backend\"");
	id = eqx_backend_find(app, vip, addr);
	if (id < 0)
		return reply_error("no such backend in that VIP");
	ov = app->override[id];
	if (jw != NULL) {
		if (!json_is_integer(jw) || json_integer_value(jw) < 0 ||
		    json_integer_value(jw) > 1000)
			return reply_error("weight: expected an integer 0..1000");
		ov.set_weight = true;
		ov.weight = (uint32_t)json_integer_value(jw);
	}
	if (js != NULL) {
		if (!json_is_string(js) || cfg_backend_state_parse(json_string_value(js), &st) != 0)
			return reply_error("state: expected active, draining or down");
		ov.set_state = true;
		ov.state = st;
	}
	if (eqx_cluster_active()) {
		/* Distributed mode: every member switches when the cluster agreed. */
		const char *err = NULL;
		int64_t gen = eqx_cluster_backend_set(app, vip, addr, &ov, &err);

		if (gen < 0)
			return reply_error(err);
		return reply_ok(json_pack("{s:s, s:I, s:I}", "result", "ok", "generation",
					  (json_int_t)app->generation, "cluster_generation",
					  (json_int_t)gen));
	}
	app->override[id] = ov;
	if (eqx_state_rebuild(app) != 0)
		return reply_error("the new generation could not be built; see the log");
	EQX_LOG(NOTICE, ctl, "backend %s of %s set by equinoxctl: generation %" PRIu64, addr, vip,
		app->generation);
	return reply_ok(
		json_pack("{s:s, s:I}", "result", "ok", "generation", (json_int_t)app->generation));
}

/* {"cmd":"backend-health","vip":V,"backend":A,"state":"up"|"down"} for health type external. */
static json_t *
do_backend_health(struct eqx_app *app, json_t *req)
{
	const char *vip = json_string_value(json_object_get(req, "vip"));
	const char *addr = json_string_value(json_object_get(req, "backend"));
	const char *state = json_string_value(json_object_get(req, "state"));
	int id, rc;

	if (vip == NULL || addr == NULL || state == NULL ||
	    (strcmp(state, "up") != 0 && strcmp(state, "down") != 0))
		return reply_error("backend-health needs \"vip\", \"backend\", \"state\": up|down");
	id = eqx_backend_find(app, vip, addr);
	if (id < 0)
		return reply_error("no such backend in that VIP");
	rc = eqx_health_set(app, (uint32_t)id, strcmp(state, "up") == 0, "set by equinoxctl");
	if (rc == -EPERM)
		return reply_error("that VIP's health type is not \"external\"");
	if (rc != 0)
		return reply_error("health not set");
	return reply_ok(
		json_pack("{s:s, s:I}", "result", "ok", "generation", (json_int_t)app->generation));
}

static json_t *
dispatch(struct eqx_app *app, const char *line)
{
	json_error_t jerr;
	const char *cmd;
	json_t *req, *r;

	req = json_loads(line, 0, &jerr);
	cmd = json_string_value(json_object_get(req, "cmd"));
	if (cmd == NULL) {
		eqx_ctl_stats.ctl_bad_requests++;
		json_decref(req);
		return reply_error("expected {\"cmd\": \"...\"}");
	}
	eqx_ctl_stats.ctl_requests++;
	if (strcmp(cmd, "stats") == 0)
		r = reply_ok(eqx_stats_json(app));
	else if (strcmp(cmd, "vips") == 0)
		r = reply_ok(eqx_vips_json(app, json_string_value(json_object_get(req, "vip"))));
	else if (strcmp(cmd, "reload") == 0)
		r = do_reload(app);
	else if (strcmp(cmd, "backend-set") == 0)
		r = do_backend_set(app, req);
	else if (strcmp(cmd, "backend-health") == 0)
		r = do_backend_health(app, req);
	else if (strcmp(cmd, "ping") == 0 && eqx_cluster_active())
		/* The local generation counts this box's rebuilds; the cluster's compares. */
		r = reply_ok(json_pack("{s:s, s:I, s:I}", "instance", app->cfg->instance.name,
				       "generation", (json_int_t)app->generation,
				       "cluster_generation", (json_int_t)eqx_cluster_generation()));
	else if (strcmp(cmd, "ping") == 0)
		r = reply_ok(json_pack("{s:s, s:I}", "instance", app->cfg->instance.name,
				       "generation", (json_int_t)app->generation));
	else if ((r = eqx_agents_ctl(app, cmd, req)) != NULL)
		;
	else {
		eqx_ctl_stats.ctl_bad_requests++;
		r = reply_error("unknown command (stats, vips, reload, backend-set, "
				"backend-health, ping, ha, lisp, ptp, cluster)");
	}
	json_decref(req);
	return r;
}

static void
serve(struct eqx_app *app, int fd)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	char *buf = malloc(CTL_MAX_REQUEST + 1);
	size_t len = 0;
	ssize_t n;
	json_t *r;
	char *out;

	if (buf == NULL)
		return;
	/* A slow or silent client must not hold the control lcore for long. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	tv.tv_sec = 1;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (len < CTL_MAX_REQUEST) {
		n = read(fd, buf + len, CTL_MAX_REQUEST - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf + len - n, '\n', (size_t)n) != NULL)
			break;
	}
	buf[len] = '\0';
	r = dispatch(app, buf);
	out = json_dumps(r, JSON_COMPACT);
	if (out != NULL) {
		size_t off = 0, total = strlen(out);

		while (off < total) {
			n = write(fd, out + off, total - off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		if (write(fd, "\n", 1) != 1)
			eqx_ctl_stats.ctl_bad_requests++;
		free(out);
	}
	json_decref(r);
	free(buf);
}

void
eqx_ctlsock_poll(struct eqx_app *app, int timeout_ms)
{
	struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
	int fd;

	/* With no socket, poll() on fd -1 is still the control lcore's sleep. */
	if (poll(&pfd, 1, timeout_ms) <= 0 || listen_fd < 0)
		return;
	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* accept4 may hand back a non-blocking fd on some systems: make it blocking. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	serve(app, fd);
	close(fd);
}
