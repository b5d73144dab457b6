/*
 * chlaunch runs ClickHouse from chDB's libchdb.so (npm package
 * @chdb/lib-linux-x64-gnu) as a native-protocol server for tests.
 *
 * libchdb exports no server main, but chdb_query_cmdline runs the
 * clickhouse-local code path with a normal command line, and
 * clickhouse-local opens a native TCP listener on
 * "SYSTEM START LISTEN TCP". Run non-interactively it aborts the whole
 * process on the first broken client connection (upstream issue 115666);
 * run with --interactive and a pseudo-terminal as stdin that nothing
 * writes to, it serves until signalled. So: make a pty our stdin, then
 *
 *   chlaunch <clickhouse-local args...>
 *
 * runs clickhouse <args> --interactive --query "SYSTEM START LISTEN TCP".
 * Build: gcc -O2 -o chlaunch chlaunch.c -L<dir> -lchdb -lutil -Wl,-rpath,<dir>
 */
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int chdb_query_cmdline(int argc, char **argv);

int main(int argc, char **argv) {
	int master, slave;
	if (openpty(&master, &slave, NULL, NULL, NULL) != 0) {
		perror("chlaunch: openpty");
		return 1;
	}
	if (dup2(slave, 0) < 0) {
		perror("chlaunch: dup2");
		return 1;
	}
	/* master stays open for the life of the process: nothing writes to it. */
	char **args = calloc((size_t)argc + 4, sizeof(char *));
	if (args == NULL) {
		perror("chlaunch: calloc");
		return 1;
	}
	int n = 0;
	args[n++] = "clickhouse";
	for (int i = 1; i < argc; i++)
		args[n++] = argv[i];
	args[n++] = "--interactive";
	args[n++] = "--query";
	args[n++] = "SYSTEM START LISTEN TCP";
	args[n] = NULL;
	return chdb_query_cmdline(n, args);
}
