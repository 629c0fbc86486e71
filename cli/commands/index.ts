// Every `tpv` command, in the order help lists them. Add new commands here.
import type { CommandSpec } from '../dispatcher';
import { connectCommand } from './connect';
import { daemonCommands } from './daemonCommands';

export const commands: CommandSpec[] = [connectCommand, ...daemonCommands];
