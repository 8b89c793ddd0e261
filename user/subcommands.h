/* The subcommands; each returns the process exit status. */
#ifndef NODETAP_SUBCOMMANDS_H
#define NODETAP_SUBCOMMANDS_H

int cmd_dns(int argc, char **argv);
int cmd_connect(int argc, char **argv);
int cmd_tcp(int argc, char **argv);
int cmd_loop(int argc, char **argv);
int cmd_callbacks(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_monitor(int argc, char **argv);

#endif
