/**
 * `npm run bench [-- area] [--size N]`: benchmarks against the plain shell pipelines, measured in the
 * same run. Areas: migrate, backup, restore, soak (soak only when named).
 */
const areas = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const wanted = areas.length > 0 ? areas : ['migrate', 'backup', 'restore'];
const modules: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {};
modules.restore = () => import('./restore.js');
modules.soak = () => import('./soak.js');
modules.migrate = () => import('./migrate.js');
for (const area of wanted) {
  const load = modules[area];
  if (!load) {
    console.error(`bench: no benchmark named ${area} yet (have: ${Object.keys(modules).join(', ') || 'none'})`);
    continue;
  }
  await (await load()).run(process.argv.slice(2));
}
