/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * equinoxctl: the operator's CLI. Sends one JSON request over the control
 * socket and prints the reply as a table, or as JSON with --json.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#define CTL_DIR "/run/equinox"

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: equinoxctl [-s SOCKET] [--json] COMMAND\n"
		"commands:\n"
		"  stats          packet, drop and flow counters\n"
		"  vips [NAME]    per-VIP and per-backend counters and state\n"
		"  reload         re-read the config file (like SIGHUP)\n"
		"  backend set VIP ADDRESS [--weight N] [--state active|draining|down]\n"
		"                 change a backend until the next reload, without losing a flow\n"
		"  backend health VIP ADDRESS up|down\n"
		"                 the verdict of an outside checker (VIP health type external)\n"
		"  ping           check that equinox answers\n"
		"  ha|lisp|ptp [ARGS...]\n"
		"                 an agent's state, or one of its commands (ha switchover,\n"
		"                 lisp registrations, ...)\n"
		"SOCKET defaults to $EQUINOX_SOCKET, else the only socket in " CTL_DIR ".\n");
}

/* The only *.sock in CTL_DIR, when there is exactly one. */
static int
default_socket(char *out, size_t len)
{
	struct dirent *de;
	unsigned int n = 0;
	DIR *d;

	d = opendir(CTL_DIR);
	if (d == NULL)
		return -ENOENT;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l > 5 && strcmp(de->d_name + l - 5, ".sock") == 0) {
			snprintf(out, len, "%s/%s", CTL_DIR, de->d_name);
			n++;
		}
	}
	closedir(d);
	return n == 1 ? 0 : (n == 0 ? -ENOENT : -EEXIST);
}

static json_t *
request(const char *path, json_t *req)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *text = json_dumps(req, JSON_COMPACT);
	json_error_t jerr;
	json_t *reply = NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	if (text == NULL || strlen(path) >= sizeof(sa.sun_path)) {
		free(text);
		return NULL;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "equinoxctl: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (write(fd, text, strlen(text)) < 0 || write(fd, "\n", 1) != 1) {
		fprintf(stderr, "equinoxctl: write: %s\n", strerror(errno));
		goto out;
	}
	for (;;) {
		if (len + 4096 > cap) {
			char *nb = realloc(buf, cap + 65536);

			if (nb == NULL)
				goto out;
			buf = nb;
			cap += 65536;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (buf == NULL)
		goto out;
	buf[len] = '\0';
	reply = json_loads(buf, 0, &jerr);
	if (reply == NULL)
		fprintf(stderr, "equinoxctl: bad reply: %s\n", jerr.text);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(text);
	return reply;
}

static void
print_stats(json_t *d)
{
	const char *k, *k2;
	json_t *v, *v2;

	json_object_foreach (d, k, v) {
		if (json_is_object(v)) {
			printf("%s:\n", k);
			json_object_foreach (v, k2, v2) {
				/* Drop reasons that never happened are noise in a terminal. */
				if (strcmp(k, "drops") == 0 && json_integer_value(v2) == 0)
					continue;
				if (json_is_object(v2)) {
					const char *k3;
					json_t *v3;

					printf("  %s:", k2);
					json_object_foreach (v2, k3, v3)
						printf(" %s=%" JSON_INTEGER_FORMAT, k3,
						       json_integer_value(v3));
					printf("\n");
				} else {
					printf("  %-24s %" JSON_INTEGER_FORMAT "\n", k2,
					       json_integer_value(v2));
				}
			}
		} else if (json_is_string(v)) {
			printf("%-26s %s\n", k, json_string_value(v));
		} else {
			printf("%-26s %" JSON_INTEGER_FORMAT "\n", k, json_integer_value(v));
		}
	}
}

static void
print_vips(json_t *d)
{
	json_t *v, *b;
	size_t i, j;

	printf("generation %" JSON_INTEGER_FORMAT "\n",
	       json_integer_value(json_object_get(d, "generation")));
	json_array_foreach (json_object_get(d, "vips"), i, v) {
		printf("%s %s:%" JSON_INTEGER_FORMAT "/%s %s  packets %" JSON_INTEGER_FORMAT
		       "  bytes %" JSON_INTEGER_FORMAT "  flows %" JSON_INTEGER_FORMAT "\n",
		       json_string_value(json_object_get(v, "name")),
		       json_string_value(json_object_get(v, "address")),
		       json_integer_value(json_object_get(v, "port")),
		       json_string_value(json_object_get(v, "protocol")),
		       json_string_value(json_object_get(v, "forwarding")),
		       json_integer_value(json_object_get(v, "packets")),
		       json_integer_value(json_object_get(v, "bytes")),
		       json_integer_value(json_object_get(v, "flows")));
		json_array_foreach (json_object_get(v, "backends"), j, b)
			printf("  %-39s w=%-4" JSON_INTEGER_FORMAT
			       " %-8s %-10s packets %-10" JSON_INTEGER_FORMAT
			       " bytes %-12" JSON_INTEGER_FORMAT " flows %" JSON_INTEGER_FORMAT
			       "\n",
			       json_string_value(json_object_get(b, "address")),
			       json_integer_value(json_object_get(b, "weight")),
			       json_string_value(json_object_get(b, "state")),
			       json_string_value(json_object_get(b, "neighbour")),
			       json_integer_value(json_object_get(b, "packets")),
			       json_integer_value(json_object_get(b, "bytes")),
			       json_integer_value(json_object_get(b, "flows")));
	}
}

/* backend set VIP ADDR [--weight N] [--state S] | backend health VIP ADDR up|down */
static json_t *
backend_request(int argc, char **argv)
{
	json_t *req;
	int i;

	if (argc < 3)
		return NULL;
	if (strcmp(argv[0], "health") == 0) {
		if (argc != 4)
			return NULL;
		return json_pack("{s:s, s:s, s:s, s:s}", "cmd", "backend-health", "vip", argv[1],
				 "backend", argv[2], "state", argv[3]);
	}
	if (strcmp(argv[0], "set") != 0)
		return NULL;
	req = json_pack("{s:s, s:s, s:s}", "cmd", "backend-set", "vip", argv[1], "backend",
			argv[2]);
	for (i = 3; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--weight") == 0) {
			char *end;
			long w = strtol(argv[i + 1], &end, 10);

			if (*end != '\0') {
				json_decref(req);
				return NULL;
			}
			json_object_set_new(req, "weight", json_integer(w));
		} else if (strcmp(argv[i], "--state") == 0) {
			json_object_set_new(req, "state", json_string(argv[i + 1]));
		} else {
			json_decref(req);
			return NULL;
		}
	}
	if (i != argc) {
		json_decref(req);
		return NULL;
	}
	return req;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char path[108] = "";
	bool as_json = false;
	const char *cmd, *res;
	json_t *req, *reply, *data;
	int opt, rc = 1;

	while ((opt = getopt_long(argc, argv, "+s:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			snprintf(path, sizeof(path), "%s", optarg);
			break;
		case 'j':
			as_json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	/* Options may also follow the command: equinoxctl stats --json */
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			as_json = true;
			memmove(&argv[i], &argv[i + 1], sizeof(char *) * (size_t)(argc - i));
			argc--;
			i--;
		}
	}
	if (path[0] == '\0') {
		const char *env = getenv("EQUINOX_SOCKET");

		if (env != NULL)
			snprintf(path, sizeof(path), "%s", env);
		else if (default_socket(path, sizeof(path)) != 0) {
			fprintf(stderr, "equinoxctl: no single socket in %s; use -s SOCKET\n",
				CTL_DIR);
			return 2;
		}
	}

	if (strcmp(cmd, "backend") == 0) {
		req = backend_request(argc - optind, argv + optind);
		if (req == NULL) {
			usage(stderr);
			return 2;
		}
	} else {
		req = json_pack("{s:s}", "cmd", cmd);
		if (strcmp(cmd, "vips") == 0 && optind < argc) {
			json_object_set_new(req, "vip", json_string(argv[optind]));
		} else if (optind < argc) {
			/* An agent's command: its words as they are. */
			json_t *args = json_array();

			for (int j = optind; j < argc; j++)
				json_array_append_new(args, json_string(argv[j]));
			json_object_set_new(req, "args", args);
		}
	}
	reply = request(path, req);
	json_decref(req);
	if (reply == NULL)
		return 1;

	res = json_string_value(json_object_get(reply, "result"));
	data = json_object_get(reply, "data");
	if (res != NULL && strcmp(res, "ok") == 0)
		rc = 0;
	if (as_json) {
		json_dumpf(rc == 0 && data != NULL ? data : reply, stdout, JSON_INDENT(2));
		printf("\n");
	} else if (rc != 0) {
		fprintf(stderr, "equinoxctl: %s\n",
			json_string_value(json_object_get(reply, "error")));
		if (json_is_string(json_object_get(reply, "errors")))
			fprintf(stderr, "%s\n",
				json_string_value(json_object_get(reply, "errors")));
	} else if (strcmp(cmd, "stats") == 0) {
		print_stats(data);
	} else if (strcmp(cmd, "vips") == 0) {
		print_vips(data);
	} else {
		json_dumpf(data, stdout, JSON_INDENT(2));
		printf("\n");
	}
	json_decref(reply);
	return rc;
}
