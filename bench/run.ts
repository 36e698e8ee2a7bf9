/**
 * `npm run bench [-- area] [--size N]`: benchmarks against the plain shell pipelines, measured in the
 * same run. Areas: migrate, backup, restore, drill, encryption, soak (drill, encryption and soak only when named).
 */
const args = process.argv.slice(2);
// Area names are the bare words that are not the value of a `--flag value` pair.
const areas = args.filter(
  (arg, i) => !arg.startsWith('--') && !(args[i - 1]?.startsWith('--') && !args[i - 1]?.includes('=')),
);
const wanted = areas.length > 0 ? areas : ['migrate', 'backup', 'restore'];
const modules: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {};
modules.restore = () => import('./restore.js');
modules.drill = () => import('./drill.js');
modules.soak = () => import('./soak.js');
modules.migrate = () => import('./migrate.js');
modules.backup = () => import('./backup.js');
modules.encryption = () => import('./encryption.js');
for (const area of wanted) {
  const load = modules[area];
  if (!load) {
    console.error(
      `bench: no benchmark named ${area} yet (have: ${Object.keys(modules).join(', ') || 'none'})`,
    );
    continue;
  }
  await (await load()).run(args);
}
