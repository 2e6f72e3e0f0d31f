import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSidecarSettings, sidecarSettings } from './settings.ts';

describe('sidecarSettings', () => {
  it("no MeshConfig: OSM's defaults, no problems", () => {
    assert.deepEqual(sidecarSettings(undefined), { settings: defaultSidecarSettings, problems: [] });
  });

  it('reads every field it uses', () => {
    const { settings, problems } = sidecarSettings({
      sidecar: { envoyImage: 'e', initContainerImage: 'i', logLevel: 'debug', enablePrivilegedInitContainer: true, localProxyMode: 'PodIP', resources: { limits: { cpu: '1' } } },
      traffic: { outboundPortExclusionList: [25, 25, 80], inboundPortExclusionList: [9000], outboundIPRangeExclusionList: ['10.0.0.0/8'], outboundIPRangeInclusionList: ['1.2.3.4/32'], networkInterfaceExclusionList: ['eth1'] },
    });
    assert.deepEqual(problems, []);
    assert.equal(settings.envoyImage, 'e');
    assert.equal(settings.initContainerImage, 'i');
    assert.equal(settings.logLevel, 'debug');
    assert.equal(settings.enablePrivilegedInitContainer, true);
    assert.equal(settings.localProxyMode, 'PodIP');
    assert.deepEqual(settings.resources, { limits: { cpu: '1' } });
    assert.deepEqual(settings.outboundPortExclusionList, [25, 80]);
    assert.deepEqual(settings.outboundIPRangeInclusionList, ['1.2.3.4/32']);
    assert.deepEqual(settings.networkInterfaceExclusionList, ['eth1']);
  });

  it('falls back per field and names each bad one', () => {
    const { settings, problems } = sidecarSettings({
      sidecar: { logLevel: 'loud', localProxyMode: 'Pod', enablePrivilegedInitContainer: 'yes', tlsMinProtocolVersion: 'SSLv3' },
      traffic: { outboundPortExclusionList: [80, 70000], outboundIPRangeExclusionList: ['fd00::/8', '10.0.0.0/8'], networkInterfaceExclusionList: ['eth0; rm -rf /'] },
    });
    assert.equal(settings.logLevel, 'error');
    assert.equal(settings.localProxyMode, 'Localhost');
    assert.equal(settings.enablePrivilegedInitContainer, false);
    assert.equal(settings.tlsMinProtocolVersion, 'TLSv1_2');
    assert.deepEqual(settings.outboundPortExclusionList, [80]);
    assert.deepEqual(settings.outboundIPRangeExclusionList, ['10.0.0.0/8']);
    assert.deepEqual(settings.networkInterfaceExclusionList, []);
    assert.deepEqual(problems, [
      'spec.sidecar.enablePrivilegedInitContainer "yes" is not valid: expected true or false',
      'spec.sidecar.logLevel "loud" is not valid: expected one of trace, debug, info, warning, warn, error, critical, off',
      'spec.sidecar.localProxyMode "Pod" is not valid: expected one of Localhost, PodIP',
      'spec.sidecar.tlsMinProtocolVersion "SSLv3" is not valid: expected one of TLS_AUTO, TLSv1_0, TLSv1_1, TLSv1_2, TLSv1_3',
      'spec.traffic.outboundPortExclusionList[1] 70000 is not valid: expected ports 1-65535; ignored',
      'spec.traffic.outboundIPRangeExclusionList[0] "fd00::/8" is not valid: expected IPv4 ranges in CIDR notation; ignored',
      'spec.traffic.networkInterfaceExclusionList[0] "eth0; rm -rf /" is not valid: expected network interface names; ignored',
    ]);
  });
});
