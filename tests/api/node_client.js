// Google's own Node.js client for Compute Engine (@google-cloud/compute) against svpcd's API:
// plain HTTP to 127.0.0.1:PORT with fake bearer tokens (OAuth2Clients holding them as access
// tokens, so no Google endpoint is ever asked). A Security Admin creates a firewall rule, a
// Service Project Admin creates an instance in the shared subnet; both wait on the operations the
// client returns and read the resources back. The Service Project Admin's attempt at a firewall
// rule must fail with GCP's 403. Prints what it read back as JSON for the TAP test, which
// then checks with traffic that each change took effect. Two steps, so traffic can be tried in
// between:
//   node node_client.js PORT SECURITY_ADMIN_TOKEN SERVICE_PROJECT_ADMIN_TOKEN instance|firewall
'use strict';
const compute = require('@google-cloud/compute');
const {OAuth2Client} = require('google-auth-library');

function clientOptions(port, token) {
  const auth = new OAuth2Client();
  auth.setCredentials({access_token: token});
  return {apiEndpoint: '127.0.0.1', port: Number(port), protocol: 'http', authClient: auth};
}

const rule = {
  name: 'allow-api-7000',
  network: 'projects/host-prj/global/networks/shared-net',
  direction: 'INGRESS',
  priority: 900,
  allowed: [{IPProtocol: 'tcp', ports: ['7000']}],
  sourceRanges: ['10.0.1.0/24'],
  targetTags: ['api'],
};

async function main() {
  const [port, securityToken, serviceToken, step] = process.argv.slice(2);
  const security = new compute.FirewallsClient(clientOptions(port, securityToken));
  const spaFirewalls = new compute.FirewallsClient(clientOptions(port, serviceToken));
  const instances = new compute.InstancesClient(clientOptions(port, serviceToken));
  const globalOperations = new compute.GlobalOperationsClient(clientOptions(port, securityToken));
  const zoneOperations = new compute.ZoneOperationsClient(clientOptions(port, serviceToken));
  // Compute's methods return the operation as `latestResponse`; waiting is operations.wait.
  const done = (op, what) => {
    if (op.status !== 'DONE') throw new Error(`${what}: operation status ${op.status}`);
  };

  if (step === 'instance') {
    const [vmOp] = await instances.insert({
      project: 'svc-a',
      zone: 'us-west1-b',
      instanceResource: {
        name: 'api-vm',
        machineType: 'zones/us-west1-b/machineTypes/e2-small',
        tags: {items: ['api']},
        networkInterfaces: [
            {subnetwork: 'projects/host-prj/regions/us-west1/subnetworks/subnet-us-west1'}],
      },
    });
    const [vmDone] = await zoneOperations.wait(
        {project: 'svc-a', zone: 'us-west1-b', operation: vmOp.latestResponse.name});
    done(vmDone, 'instances.insert');
    const [vm] = await instances.get({project: 'svc-a', zone: 'us-west1-b', instance: 'api-vm'});
    console.log(JSON.stringify({instanceIp: vm.networkInterfaces[0].networkIP,
                                tags: vm.tags.items}));
    return;
  }
  if (step === 'firewall') {
    // The Service Project Admin may not; the Security Admin may.
    let deniedMessage = '';
    try {
      await spaFirewalls.insert({project: 'host-prj', firewallResource: rule});
    } catch (e) {
      deniedMessage = String(e.message);
    }
    const [fwOp] = await security.insert({project: 'host-prj', firewallResource: rule});
    const [fwDone] = await globalOperations.wait(
        {project: 'host-prj', operation: fwOp.latestResponse.name});
    done(fwDone, 'firewalls.insert');
    const [created] = await security.get({project: 'host-prj', firewall: rule.name});
    console.log(JSON.stringify({rule: created.name, ports: created.allowed[0].ports,
                                deniedMessage}));
    return;
  }
  throw new Error('usage: node node_client.js PORT SECURITY_TOKEN SERVICE_TOKEN instance|firewall');
}

main().catch(e => {
  console.error('node client failed:', e && e.stack ? e.stack : e);
  process.exit(1);
});
