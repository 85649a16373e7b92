/** `config --print`: the effective configuration (file + environment + flags), secrets masked. */
import { Command } from 'commander';
import YAML from 'yaml';

import { configFromOptions, withConfigOptions, type CommonOptions } from '../context.js';
import { json, type Io } from '../output.js';

export function configCommand(io: Io): Command {
  return withConfigOptions(new Command('config'))
    .description('validate the configuration; with --print show the effective configuration (secrets masked)')
    .option('--print', 'print the effective configuration')
    .option('--json', 'print as JSON instead of YAML')
    .action((options: CommonOptions & { print?: boolean; json?: boolean }) => {
      const config = configFromOptions(options);
      if (options.print !== true) {
        io.out(
          `configuration ok${config.source ? ` (${config.source})` : ' (defaults, environment and flags)'}: ${config.companies.length} company(ies)`,
        );
        return;
      }
      io.out(options.json === true ? json(config.printable) : YAML.stringify(config.printable).trimEnd());
    });
}
