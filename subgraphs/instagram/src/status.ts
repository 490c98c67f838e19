/** Instagram's status rules: what a manual status may say and when it expires; how activities read as auto-status. */
import { badUserInput } from '@igt/common';
import type { Activity, SetStatusInput } from './generated/resolvers-types.js';

/** How each activity reads as a status. */
export const ACTIVITY_STATUS: Record<Activity, { emoji: string; text: string }> = {
  AT_HOME: { emoji: '🏠', text: 'At home' },
  AT_WORK: { emoji: '💼', text: 'At work' },
  ON_THE_MOVE: { emoji: '🚶', text: 'On the move' },
  AT_A_CAFE: { emoji: '☕', text: 'At a café' },
  AT_THE_GYM: { emoji: '🏋️', text: 'At the gym' },
  LOW_BATTERY: { emoji: '🪫', text: 'Low battery' },
};

/** An automatic status fades after this long unless the app reports again. */
export const AUTO_STATUS_TTL_MS = 4 * 3600 * 1000;

/** Validates a manual status and works out when it expires. */
export function parseManualStatus(input: SetStatusInput, now: Date) {
  const emoji = input.emoji.trim();
  const text = input.text.trim();
  if (!emoji || [...emoji].length > 16)
    throw badUserInput('`emoji` must be one emoji (1–16 characters).', 'input.emoji');
  if (!text || text.length > 60)
    throw badUserInput('`text` must be 1–60 characters, not only whitespace.', 'input.text');
  const seconds = input.expiresInSeconds;
  if (seconds !== null && seconds !== undefined && (seconds < 60 || seconds > 604_800)) {
    throw badUserInput(`\`expiresInSeconds\` must be between 60 and 604800, got ${seconds}.`, 'input.expiresInSeconds');
  }
  const expiresAt = seconds ? new Date(now.getTime() + seconds * 1000) : null;
  return { kind: 'MANUAL' as const, emoji, text, activity: null, setAt: now, expiresAt };
}
