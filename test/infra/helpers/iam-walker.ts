/**
 * Walks every IAM policy statement in a synthesized template (inline role policies, AWS::IAM::Policy,
 * AWS::IAM::ManagedPolicy) and reports data actions that are not scoped to named resources.
 */

/** The services whose data a wildcard would expose: the queues, the ledger, the token and PINs. */
const DATA_SERVICES = ['sqs', 'dynamodb', 'secretsmanager'];

export interface PolicyStatementRef {
  /** Logical id of the resource that holds the statement. */
  logicalId: string;
  sid: string | undefined;
  effect: string;
  actions: string[];
  /** Resources with intrinsics flattened: `{Ref: X}` → `<X>`, `{Fn::GetAtt: [X, Arn]}` → `<X.Arn>`. */
  resources: string[];
  notActions: boolean;
  notResources: boolean;
}

export interface WildcardFinding {
  statement: PolicyStatementRef;
  problem: string;
}

type Template = { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

/** Every identity-policy statement in the template. */
export function policyStatements(template: Template): PolicyStatementRef[] {
  const found: PolicyStatementRef[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const documents: unknown[] = [];
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
      documents.push(resource.Properties?.PolicyDocument);
    } else if (resource.Type === 'AWS::IAM::Role' || resource.Type === 'AWS::IAM::User' || resource.Type === 'AWS::IAM::Group') {
      for (const policy of (resource.Properties?.Policies as { PolicyDocument: unknown }[] | undefined) ?? []) documents.push(policy.PolicyDocument);
    }
    for (const document of documents) {
      for (const statement of asArray((document as { Statement?: unknown })?.Statement)) {
        const s = statement as Record<string, unknown>;
        found.push({
          logicalId,
          sid: s.Sid as string | undefined,
          effect: String(s.Effect),
          actions: asArray(s.Action ?? s.NotAction).map(String),
          resources: asArray(s.Resource ?? s.NotResource).map(flatten),
          notActions: s.NotAction !== undefined,
          notResources: s.NotResource !== undefined,
        });
      }
    }
  }
  return found;
}

/**
 * Allow statements that give a data action (sqs, dynamodb, secretsmanager) on `*`, on an ARN with a
 * wildcard, or through a wildcard action. Allowed: a Secrets Manager name prefix (`secret:<non-empty
 * prefix>*`, the PIN secrets) and the `-??????` suffix Secrets Manager appends to a secret's name.
 */
export function findDataWildcards(template: Template): WildcardFinding[] {
  const findings: WildcardFinding[] = [];
  for (const statement of policyStatements(template)) {
    if (statement.effect !== 'Allow') continue;
    const dataActions = statement.actions.filter(isDataAction);
    if (dataActions.length === 0) continue;
    const report = (problem: string) => findings.push({ statement, problem });
    if (statement.notActions) report('NotAction with a data service');
    if (statement.notResources) report('NotResource on data actions');
    for (const action of dataActions) if (action.includes('*')) report(`wildcard action ${action}`);
    for (const resource of statement.resources) {
      // `?` is a wildcard too; allowed only as the six random characters Secrets Manager appends to a name.
      if (resource.replace(/:secret:([^*?]+)-\?{6}$/, ':secret:$1').includes('?')) report(`${dataActions.join(', ')} on ${resource}`);
      if (!resource.includes('*')) continue;
      const prefixWildcard = /:secretsmanager:.*:secret:[^*?:]+\*$/.test(resource);
      const onlySecretActions = dataActions.every((action) => action.toLowerCase().startsWith('secretsmanager:'));
      if (prefixWildcard && onlySecretActions) continue;
      report(`${dataActions.join(', ')} on ${resource}`);
    }
  }
  return findings;
}

/** Allow statements whose actions include `action`, directly or through a wildcard (`secretsmanager:Get*`, `*`). */
export function statementsAllowing(template: Template, action: string): PolicyStatementRef[] {
  return policyStatements(template).filter(
    (statement) =>
      statement.effect === 'Allow' &&
      (statement.notActions ? !statement.actions.some((a) => matchesGlob(a.toLowerCase(), action.toLowerCase())) : statement.actions.some((a) => matchesGlob(a.toLowerCase(), action.toLowerCase()))),
  );
}

function isDataAction(action: string): boolean {
  if (action === '*') return true;
  const service = action.split(':')[0]?.toLowerCase() ?? '';
  return DATA_SERVICES.includes(service) || (service.includes('*') && DATA_SERVICES.some((name) => matchesGlob(service, name)));
}

function matchesGlob(pattern: string, value: string): boolean {
  return new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(value);
}

function asArray(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Renders CloudFormation intrinsics as text, the way cdk-nag does, so wildcards inside joins are visible. */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('Ref' in v) return `<${String(v.Ref)}>`;
    if ('Fn::GetAtt' in v) return `<${asArray(v['Fn::GetAtt']).map(String).join('.')}>`;
    if ('Fn::Join' in v) {
      const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(flatten).join(separator);
    }
    if ('Fn::Sub' in v) return String(asArray(v['Fn::Sub'])[0]);
    if ('Fn::ImportValue' in v) return `<import ${flatten(v['Fn::ImportValue'])}>`;
  }
  return JSON.stringify(value);
}
