import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALARM_RUNBOOK, alarmSlugs, DEAD_LETTER_RUNBOOK, withAlarmTables } from '../../infra/alarm-runbook.ts';
import { DEAD_LETTER_CATEGORIES } from '../../shared/jobs/dlq-envelope.v1.ts';
import { synthRegistrar } from './helpers/synth.ts';

const deploymentDoc = () => readFileSync(new URL('../../docs/deployment.md', import.meta.url), 'utf8');

describe('the alarm runbook', () => {
  it('docs/deployment.md shows every alarm, what it means and its first command, exactly as the runbook has them', () => {
    // Prepare
    const document = deploymentDoc();
    // Act
    const rendered = withAlarmTables(document);
    // Assess (`npx tsx infra/alarm-runbook.ts` rewrites the tables)
    expect(document).toBe(rendered);
    for (const slug of alarmSlugs({ scheduledRedrive: true })) expect(document).toContain(`| \`${slug}\` |`);
  });

  it('has a row for every dead-letter category, so a new category cannot go without a runbook entry', () => {
    expect(Object.keys(DEAD_LETTER_RUNBOOK).sort()).toEqual([...DEAD_LETTER_CATEGORIES].sort());
  });

  it('gives every alarm of the deployed stack its runbook entry as description, and nothing else', () => {
    // Prepare
    const { template } = synthRegistrar();
    const alarms = Object.values(template().findResources('AWS::CloudWatch::Alarm'));
    // Act
    const described = alarms.map((alarm) => {
      const name = String(alarm.Properties.AlarmName).replace(/^wa-registrar-dev\//, '');
      const entry = name.startsWith('dead-letter-') && name !== 'dead-letter-queue-depth'
        ? DEAD_LETTER_RUNBOOK[name.slice('dead-letter-'.length) as keyof typeof DEAD_LETTER_RUNBOOK]
        : ALARM_RUNBOOK[name as keyof typeof ALARM_RUNBOOK];
      return { name, entry, description: JSON.stringify(alarm.Properties.AlarmDescription) };
    });
    // Assess
    for (const { name, entry, description } of described) {
      expect(entry, name).toBeDefined();
      expect(description, name).toContain(entry!.means.replaceAll('"', '\\"'));
      expect(description, name).toContain(' First: ');
      expect(description, name).not.toMatch(/<stack>|<workerLogGroup>|<redriveLogGroup>/);
    }
  });
});
